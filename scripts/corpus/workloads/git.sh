# git work on a clone of the project: log, grep, blame, diff, branches, a merge, gc
set -x
d=$(mktemp -d /tmp/gitwork.XXXX); cd $d
git clone -q /work/main repo && cd repo
git config user.email dev@example.org; git config user.name dev
git log --oneline | wc -l; git log --stat -5 | tail -5
git grep -n "vg_event_new" | head -5; git blame -L 1,5 README.md | cat
git checkout -q -b feature; echo "note" >> README.md; git commit -qam "note"; git checkout -q -; git merge -q --no-edit feature
git diff HEAD~1 --stat; git shortlog -sn | head -3; git tag v-test; git describe --tags
git archive --format=tar HEAD src/common | tar t | wc -l
git gc -q --auto; git fsck --no-progress 2>&1 | tail -1
cd /; rm -rf $d
