sandbox {
  mail_url = "127.0.0.1:8486"
}
