server {
  read_timeout = "5 minutes"
}
