scheduler {
  check_timeout = "1m"
}
