# Constraints, affinities and spreads, with Nomad's shortcut forms.
job "docs" {
  datacenters = ["us-east-1", "us-west-1"]

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  constraint {
    distinct_hosts = true
  }

  affinity {
    attribute = "${node.datacenter}"
    value     = "us-west-1"
    weight    = 100
  }

  spread {
    attribute = "${node.datacenter}"
    weight    = 100

    target "us-east-1" {
      percent = 60
    }
    target "us-west-1" {
      percent = 40
    }
  }

  group "example" {
    constraint {
      attribute = "${attr.kernel.version}"
      version   = "> 3.19"
    }

    constraint {
      attribute = "${meta.rack}"
      regexp    = "^r[0-9]+$"
    }

    constraint {
      distinct_property = "${meta.rack}"
      value             = "2"
    }

    affinity {
      attribute = "${meta.tags}"
      set_contains_any = "ssd,fast"
      weight    = -50
    }

    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      constraint {
        attribute = "${attr.cpu.arch}"
        operator  = "!="
        value     = "arm64"
      }
    }
  }
}
