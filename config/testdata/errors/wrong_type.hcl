server {
  body_limit = "big"
}
jobs {
  workers = 2.5
}
