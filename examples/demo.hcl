# The demo job of the README in HCL: the same job as examples/demo.json.
# Run it (README, "Jobs in HCL"):
#   drover job parse examples/demo.hcl | curl -s -X PUT --data-binary @- http://127.0.0.1:4646/v1/jobs
job "demo" {
  type        = "service"
  datacenters = ["dc1"]

  group "greeter" {
    count = 2

    restart {
      attempts = 3
      interval = "1m"
      delay    = "1s"
      mode     = "delay"
    }

    task "hello" {
      driver       = "raw_exec"
      kill_timeout = "2s"

      config {
        command = "/bin/sh"
        # ${NOMAD_ALLOC_NAME} is left for the task to expand at run time.
        args = ["-c", "while true; do echo \"hello from ${NOMAD_ALLOC_NAME} at $(date)\"; sleep 2; done"]
      }

      env {
        GREETING = "hello from ${NOMAD_TASK_NAME}"
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
