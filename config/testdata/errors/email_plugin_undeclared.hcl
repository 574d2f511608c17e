notifications {
  email_plugin = "mailer"
}
plugin "email" {
  path = "bin/ezscale-plugin-email"
}
