scheduler {
  job_timeout = "20s"
}
