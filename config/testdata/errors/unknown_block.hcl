databse {
  url = "sqlite:data/x.db"
}
