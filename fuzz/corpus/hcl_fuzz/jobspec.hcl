job "example" {
  datacenters = ["dc1"]
  group "g" {
    count = 1
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "echo ${NOMAD_ALLOC_DIR} $${x}"]
      }
      resources { memory = 256 }
    }
  }
}
