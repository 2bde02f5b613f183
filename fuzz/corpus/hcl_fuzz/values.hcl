v = { a = 1, "b": [1.5, -2, 1e3, true, null], c = { d = "\u00e9\U0001F600\n\t" } }
/* c */ w = [
  1,
  2,
] // end
