variable "n" {
  type = number
  default = 1
}
locals {
  s = "${upper("a")}-${var.n * 2 + 1 > 2 ? "x" : "y"}"
  m = merge({a = 1}, jsondecode("{\"b\":[1,2]}"))
}
job "j" {
  meta = { s = local.s, f = format("%05d|%q", var.n, "x"), j = jsonencode(local.m) }
}
#vars
n = 7
