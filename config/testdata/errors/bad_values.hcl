server {
  listen = "localhost"
}
database {
  url = "mysql://x"
}
billing {
  currency           = "usd"
  suspend_after_days = 40
}
scheduler {
  recheck_after = "5m"
}
