# small C programs compiled and run from /tmp (fresh unpackaged binaries: benign)
set -x
d=$(mktemp -d /tmp/smallc.XXXX); cd $d
cat > hello.c <<'C'
#include <stdio.h>
int main(int argc,char**argv){printf("hello %d\n",argc);return 0;}
C
cat > sum.c <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(int argc,char**argv){long s=0;for(int i=1;i<argc;i++)s+=atol(argv[i]);printf("%ld\n",s);return 0;}
C
cat > files.c <<'C'
#include <stdio.h>
int main(void){FILE*f=fopen("out.txt","w");for(int i=0;i<100;i++)fprintf(f,"%d\n",i);fclose(f);return 0;}
C
cat > fork.c <<'C'
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void){for(int i=0;i<3;i++){pid_t p=fork();if(!p){execlp("true","true",(char*)0);_exit(1);}waitpid(p,0,0);}puts("ok");return 0;}
C
cat > net.c <<'C'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
int main(void){int s=socket(AF_INET,SOCK_STREAM,0);struct sockaddr_in a={0};a.sin_family=AF_INET;a.sin_port=htons(9);a.sin_addr.s_addr=htonl(0x7f000001);connect(s,(void*)&a,sizeof a);close(s);puts("net");return 0;}
C
for p in hello sum files fork net; do
  for opt in -O0 -O2 "-O2 -s" "-static -O1"; do
    gcc $opt -o $p $p.c && ./$p 1 2 3
    mkdir -p bin; cp $p bin/$p-$RANDOM; chmod +x bin/*
  done
done
for b in bin/*; do $b 4 5; done
cc -shared -fPIC -o libx.so hello.c
make -f /dev/null hello 2>/dev/null || true
cd /; rm -rf $d
