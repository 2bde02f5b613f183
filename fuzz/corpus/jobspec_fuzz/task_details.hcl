# A task with everything Drover runs: env, meta, resources, logs, disk,
# templates, artifacts, kill settings.
job "docs" {
  type     = "service"
  priority = 70
  region   = "global"
  meta = {
    owner = "team-a"
  }

  group "example" {
    count          = 2
    shutdown_delay = "5s"

    ephemeral_disk {
      size    = 500
      sticky  = true
      migrate = true
    }

    meta {
      tier = "backend"
    }

    task "server" {
      driver       = "raw_exec"
      user         = "nobody"
      kill_timeout = "20s"
      kill_signal  = "SIGINT"
      leader       = true

      config {
        command = "/usr/local/bin/server"
        args    = ["-config", "${NOMAD_TASK_DIR}/server.conf"]
      }

      env {
        LOG_LEVEL = "debug"
        NODE      = "${node.unique.name}"
        HOME_DIR  = "${env["HOME"]}"
      }

      resources {
        cpu        = 500
        memory     = 256
        memory_max = 512
      }

      logs {
        max_files     = 3
        max_file_size = 15
      }

      artifact {
        source      = "https://example.com/server.tar.gz"
        destination = "local/server"
        options {
          checksum = "sha256:abd123"
        }
      }

      template {
        data        = <<-EOT
          listen = {{ env "NOMAD_PORT_http" }}
          name   = "${NOMAD_TASK_NAME}"
        EOT
        destination = "local/server.conf"
        change_mode = "signal"
        change_signal = "SIGHUP"
      }

      template {
        source      = "local/env.tpl"
        destination = "secrets/file.env"
        env         = true
        wait {
          min = "2s"
          max = "10s"
        }
      }
    }
  }
}
