/**
 * What preflight runs on the source, over SSH, as one `sh` script: it only reads (no file is
 * written, not even in /tmp: nothing is redirected into a file and no tool that keeps state
 * is run) and prints each fact under a `@@name` line. Every command is bounded (head) and
 * may be missing on an old machine: a missing one leaves its section empty.
 */
export const PREFLIGHT_SCRIPT = `
export LC_ALL=C
s() { echo "@@$1"; }
s os; cat /etc/os-release /etc/redhat-release /etc/debian_version 2>/dev/null | head -40
s arch; uname -m
s kernel; uname -r
s libc; (ldd --version 2>&1 || true) | head -1
s init; cat /proc/1/comm 2>/dev/null; readlink /sbin/init 2>/dev/null
s enabled; ls /etc/systemd/system/multi-user.target.wants/ 2>/dev/null | head -100; ls /etc/rc2.d /etc/rc3.d 2>/dev/null | grep '^S' | head -100
s tcp; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | head -2000
s sockets; for p in /proc/[0-9]*; do c=$(cat "$p/comm" 2>/dev/null) || continue; for f in "$p"/fd/*; do l=$(readlink "$f" 2>/dev/null) || continue; case "$l" in socket:*) echo "\${p#/proc/} $l $c";; esac; done; done 2>/dev/null | head -5000
s cmdlines; for p in /proc/[0-9]*; do [ -r "$p/cmdline" ] && printf '%s ' "\${p#/proc/}" && tr '\\0' ' ' < "$p/cmdline" 2>/dev/null | cut -c1-300; echo; done 2>/dev/null | head -1000
s du; du -sxk / 2>/dev/null | tail -1
s passwd; head -500 /etc/passwd 2>/dev/null
s crontab; grep -v '^[[:space:]]*#' /etc/crontab 2>/dev/null | grep -E '^[0-9*@]' | head -50
s crond; ls -1 /etc/cron.d 2>/dev/null | head -50
s usercrons; (ls -1 /var/spool/cron/crontabs 2>/dev/null || ls -1 /var/spool/cron 2>/dev/null) | head -50
s fstab; grep -v '^[[:space:]]*#' /etc/fstab 2>/dev/null | grep . | head -100
s modules; grep -hv '^[[:space:]]*#' /etc/modules /etc/modules-load.d/*.conf 2>/dev/null | grep . | head -100
s sysctl; grep -hv '^[[:space:]]*[#;]' /etc/sysctl.conf /etc/sysctl.d/*.conf 2>/dev/null | grep = | head -100
s devices; find / -xdev \\( -type b -o -type c \\) ! -path '/dev/*' 2>/dev/null | head -100
s addresses; grep -rnoE '([0-9]{1,3}\\.){3}[0-9]{1,3}' /etc/nginx /etc/apache2 /etc/httpd /etc/lighttpd 2>/dev/null | grep -vE ':(127\\.0\\.0\\.1|0\\.0\\.0\\.0)$' | head -100
s network; ls -d /etc/network/interfaces /etc/netplan /etc/sysconfig/network-scripts 2>/dev/null
s boot; ls /boot 2>/dev/null | head -20
s end
`;
