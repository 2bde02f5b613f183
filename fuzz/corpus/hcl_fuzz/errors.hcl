x = 1
x = 2
y = foo + 1
