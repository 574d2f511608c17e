plugin "Email" {
  path = "x"
}
plugin "stripe" {
  sha256 = "abc"
}
plugin "discord" {
  path   = "bin/ezscale-plugin-discord"
  sha256 = "ABC"
}
