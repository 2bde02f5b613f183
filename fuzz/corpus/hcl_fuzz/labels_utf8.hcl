namespace "has a space"{
	policy = "read"
}
namespace {}
v = "\u00e9é"
