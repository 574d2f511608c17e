plugin "email" {
  path = "bin/ezscale-plugin-email"
  config {
    password = env("EZSCALE_TEST_UNSET_SECRET")
  }
}
