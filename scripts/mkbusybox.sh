#!/bin/sh
# Writes to stdout a tar of a minimal busybox root file system built from Debian's
# busybox-static: /bin/busybox with its applet links, /etc/passwd and /etc/group.
# Used for Berth's built-in default image (there is no Docker Hub here).
set -eu
BB=$(command -v busybox || true)
[ -n "$BB" ] || { echo "mkbusybox: busybox is not installed (apt-get install busybox-static)" >&2; exit 1; }
if ! file -L "$BB" 2>/dev/null | grep -q 'statically linked' && ! ldd "$BB" 2>&1 | grep -q 'not a dynamic executable'; then
  echo "mkbusybox: $BB is not statically linked (install busybox-static)" >&2; exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/etc" "$T/root" "$T/tmp" "$T/home" "$T/var/spool/mail" "$T/var/www" "$T/usr/sbin" "$T/proc" "$T/sys" "$T/dev"
cp "$BB" "$T/bin/busybox"
chmod 0755 "$T/bin/busybox"
for a in $("$BB" --list); do
  [ "$a" = busybox ] || ln -s busybox "$T/bin/$a"
done
cat > "$T/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat > "$T/etc/group" <<'G'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
G
chmod 0700 "$T/root"
chmod 1777 "$T/tmp"
tar -C "$T" --numeric-owner --owner=0 --group=0 --sort=name --mtime='2024-01-01 00:00:00' -cf - .
