#!/usr/bin/env bash
# Builds the test guest the QEMU driver's tests boot (docs/qemu.md, "The test guest"):
# Debian's cloud kernel, booted with -kernel, and an initramfs of busybox-static and the
# kernel modules it needs (the power button, pvpanic, the virtio disk and balloon), from packages fetched with `apt-get download` and unpacked
# with `dpkg-deb -x` (never installed on the host). Its /init prints a marker on the
# serial console, powers off on the ACPI power button, and reboots, panics or writes to
# its disk when told so on the console.
#   bash tests/guest/build.sh CACHE_DIR
# Leaves CACHE_DIR/vmlinuz and CACHE_DIR/initrd.gz, built once: a later run with both
# present does nothing. Idempotent; safe to run from several tests at once (a lock).
set -euo pipefail
cache=${1:?usage: build.sh CACHE_DIR}
mkdir -p "$cache"
exec 9> "$cache/.lock"
flock 9
if [ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.gz" ]; then
  exit 0
fi
work=$(mktemp -d "$cache/build-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
# The kernel package the cloud metapackage names today (a glob would fetch every one).
kernel=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$kernel" ]; then
  apt-get update -q > /dev/null
  kernel=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
fi
apt-get download -q "$kernel" busybox-static > /dev/null 2>&1
dpkg-deb -x linux-image-*.deb kernel
dpkg-deb -x busybox-static_*.deb busybox
mods=$(echo kernel/lib/modules/*)

root=initramfs
mkdir -p "$root"/{bin,dev,proc,sys,etc/acpi/PWRF,modules}
cp busybox/bin/busybox "$root/bin/busybox"
for tool in sh mount insmod echo cat poweroff reboot acpid sleep dd sync mknod ls grep; do
  ln -s busybox "$root/bin/$tool"
done
# In load order: the power button, the panic device, the virtio disk.
for m in drivers/input/evdev.ko drivers/acpi/button.ko drivers/misc/pvpanic/pvpanic.ko \
  drivers/misc/pvpanic/pvpanic-mmio.ko drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko \
  drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko \
  drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko drivers/virtio/virtio_balloon.ko; do
  cp "$mods/kernel/$m" "$root/modules/"
done
cat > "$root/etc/acpi/PWRF/00000080" << 'SCRIPT'
#!/bin/sh
echo DOMUS-GUEST-POWEROFF > /dev/ttyS0
poweroff -f
SCRIPT
chmod 755 "$root/etc/acpi/PWRF/00000080"
cat > "$root/init" << 'SCRIPT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in evdev button pvpanic pvpanic-mmio virtio_ring virtio virtio_pci_legacy_dev \
  virtio_pci_modern_dev virtio_pci virtio_blk virtio_balloon; do
  insmod /modules/$m.ko 2> /dev/null || echo "DOMUS-GUEST: no module $m" > /dev/ttyS0
done
# In the foreground (-d), beside the init: daemonized, busybox's acpid misses the button.
acpid -d -c /etc/acpi > /dev/null 2>&1 &
# Ready once acpid listens to the button's input device.
while ! ls -l /proc/$!/fd 2> /dev/null | grep -q /dev/input/event; do sleep 0.05; done
echo DOMUS-GUEST-READY > /dev/ttyS0
# Requests, one a line, on the serial console.
while read -r request < /dev/ttyS0; do
  case "$request" in
    reboot) echo DOMUS-GUEST-REBOOTING > /dev/ttyS0; reboot -f ;;
    panic) echo c > /proc/sysrq-trigger ;;
    poweroff) poweroff -f ;;
    write) dd if=/dev/zero of=/dev/vda bs=4096 count=16 oflag=direct 2> /dev/null; sync
      echo DOMUS-GUEST-WROTE > /dev/ttyS0 ;;
  esac
done
SCRIPT
chmod 755 "$root/init"
(cd "$root" && find . | "$work/busybox/bin/busybox" cpio -o -H newc 2> /dev/null) | gzip -9 > initrd.gz
cp kernel/boot/vmlinuz-* vmlinuz
mv initrd.gz "$cache/initrd.gz.new"
mv vmlinuz "$cache/vmlinuz.new"
mv "$cache/initrd.gz.new" "$cache/initrd.gz"
mv "$cache/vmlinuz.new" "$cache/vmlinuz"
