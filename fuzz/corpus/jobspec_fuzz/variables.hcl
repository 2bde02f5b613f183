# Variables, locals and functions; runtime references stay for the task.
variable "datacenters" {
  type        = list(string)
  description = "Where to run"
  default     = ["dc1"]
}

variable "replicas" {
  type    = number
  default = 2
  validation {
    condition     = var.replicas > 0 && var.replicas <= 10
    error_message = "replicas must be between 1 and 10"
  }
}

variable "image_version" {
  type    = string
  default = "1.2.3"
}

variable "labels" {
  type = map(string)
  default = {
    team = "web"
  }
}

locals {
  name    = "app-${replace(var.image_version, ".", "-")}"
  memory  = var.replicas > 1 ? 256 : 128
  tags    = concat(["v${var.image_version}"], ["extra"])
}

job "app" {
  name        = local.name
  datacenters = var.datacenters
  meta        = merge(var.labels, { version = var.image_version })

  group "web" {
    count = var.replicas

    task "server" {
      driver = "raw_exec"
      config {
        command = "/usr/local/bin/app"
        args = [
          "--name", upper(local.name),
          "--workers", tostring(var.replicas * 4),
          "--peers", join(",", ["a", "b"]),
          "--dir", "${NOMAD_ALLOC_DIR}/data",
          "--host", "${attr.unique.hostname}",
        ]
      }
      env {
        LABELS  = jsonencode(var.labels)
        PORT    = format("%d", 8000 + var.replicas)
        TRIMMED = trimspace("  padded  ")
        FIRST   = element(split(",", "a,b,c"), 0)
        COUNT   = length(var.datacenters)
        LITERAL = "$${not_interpolated}"
      }
      resources {
        memory = local.memory
        cpu    = max(100, min(500, 250))
      }
    }
  }
}
