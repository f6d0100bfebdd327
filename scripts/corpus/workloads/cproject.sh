# a small C project in /tmp built three ways: make with a static library (ar, ranlib), cmake, and by hand with strip/objdump/readelf; its programs and a test script run from /tmp
set -x
d=$(mktemp -d /tmp/cproj.XXXX); cd $d; mkdir -p src lib
printf 'int add(int a,int b){return a+b;}\nint mul(int a,int b){return a*b;}\n' > lib/mathx.c
printf 'int add(int,int);int mul(int,int);\n' > lib/mathx.h
printf '#include <stdio.h>\n#include "../lib/mathx.h"\nint main(int c,char**v){printf("%%d %%d\\n",add(c,2),mul(c,3));return 0;}\n' > src/calc.c
cat > Makefile <<'M'
all: calc
lib/libmathx.a: lib/mathx.o
	ar rcs $@ $^
	ranlib $@
calc: src/calc.c lib/libmathx.a
	cc -O2 -o $@ src/calc.c -Llib -lmathx
clean:
	rm -f calc lib/*.o lib/*.a
M
make && ./calc a b && make clean && make -j2 && ./calc
cat > CMakeLists.txt <<'C'
cmake_minimum_required(VERSION 3.13)
project(calc C)
add_library(mathx STATIC lib/mathx.c)
add_executable(calc2 src/calc.c)
target_link_libraries(calc2 mathx)
C
mkdir build && cd build && cmake .. > /dev/null && make 2>&1 | tail -1 && ./calc2 x && cd ..
cc -g -o calc-dbg src/calc.c lib/mathx.c && cp calc-dbg calc-stripped && strip calc-stripped && ./calc-stripped 1
readelf -h calc-dbg | head -5; objdump -d calc-stripped | wc -l; nm calc-dbg | grep -c " T "
gdb -batch -ex 'break main' -ex run -ex bt --args ./calc-dbg 1 2 2>&1 | tail -2
printf '#!/bin/sh\nfor i in 1 2 3; do ./calc $i; done\n' > test.sh; chmod +x test.sh; ./test.sh
strace -c -o /dev/null ./calc 2>&1 | tail -1
cd /; rm -rf $d
