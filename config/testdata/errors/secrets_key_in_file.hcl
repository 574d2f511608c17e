auth {
  secrets_key           = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="
  secrets_previous_keys = [env("OLD_KEY", "x"), "also-literal"]
}
