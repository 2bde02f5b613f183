job "docs" {
  datacenters = ["dc1"]

  group "web" {
    network {
      mode = "host"
      port "http" {
        to = 8080
      }
      port "admin" {
        static = 9090
      }
      dns {
        servers = ["1.1.1.1", "8.8.8.8"]
      }
    }

    service {
      name     = "web"
      port     = "http"
      provider = "nomad"
      tags     = ["urlprefix-/", "v1"]

      meta {
        version = "1"
      }

      check {
        name     = "alive"
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "90s"
        }
      }

      check {
        type     = "tcp"
        port     = "admin"
        interval = "30s"
        timeout  = "5s"
      }
    }

    task "server" {
      driver = "raw_exec"
      config {
        command = "/usr/local/bin/web"
        args    = ["--port", "${NOMAD_PORT_http}"]
      }
    }
  }
}
