a = <<EOF
plain ${x}
  EOF
b = <<-EOT
    flush
      more %{ if y }z%{ endif }
    EOT
