/**
 * The shell the panel runs inside an environment's container to reach its files, as the
 * template's user. The scripts are fixed text; every name a customer chose arrives as a
 * positional argument or as a line on standard input, never inside the script, so no name
 * is ever parsed as shell. They need only a POSIX sh with cd -P, stat -c, readlink -f, dd
 * iflag=fullblock, cat, tail, tar, mkdir, mv, rm, chmod and touch: busybox and Debian's
 * coreutils both have them.
 *
 * A redirection is never put on a special builtin (`:`, `exec` without `command`): when it
 * fails (a full disk), POSIX shells exit, and the agent with them.
 *
 * Confinement: `at` resolves a path's folder physically (cd -P follows every link in it) and
 * refuses one that is not inside the data folder; `to` also follows the entry itself when it
 * is a link. A special file (a device, a pipe, a socket) is never opened. The checks and the
 * action run in one script, as the container's own user: a customer racing them from their
 * own shell reaches nothing that user could not reach anyway.
 */

/** The codes the scripts answer with (other failures: 1, with the tool's message). */
export const FILE_CODES = {
  ok: 0, failed: 1, missing: 2, outside: 3, special: 4, exists: 5, notDir: 6, isDir: 7, notEmpty: 8,
} as const;

/** Shared by every script: $root is the data folder's physical path; the working folder stays there. */
const PRELUDE = `
cd -P -- "$KURA_ROOT" 2>/dev/null || { echo "the data folder $KURA_ROOT does not exist in this environment"; exit 9; }
root=$PWD
[ "$root" = / ] && root=
ex() { [ -e "$1" ] || [ -L "$1" ]; }
at() {
  case $1 in
    '') p=$root; [ -n "$p" ] || p=/; return 0;;
    */*) d=\${1%/*}; b=\${1##*/};;
    *) d=; b=$1;;
  esac
  if ! cd -P -- "$root/$d" 2>/dev/null; then
    # Missing, or not a folder: outside when the deepest folder that does exist leads out.
    q=$d
    while [ -n "$q" ]; do
      case $q in */*) q=\${q%/*};; *) q=;; esac
      if cd -P -- "$root/$q" 2>/dev/null; then
        pd=$PWD; cd -- "$root/"
        case $pd/ in "$root"/*) return 2;; *) return 3;; esac
      fi
    done
    cd -- "$root/"; return 2
  fi
  pd=$PWD; cd -- "$root/"
  case $pd/ in "$root"/*) ;; *) return 3;; esac
  p=$pd/$b
}
to() {
  at "$1" || return
  t=$p
  [ -L "$p" ] || return 0
  t=$(readlink -f -- "$p") || return 2
  ex "$t" || return 2
  case $t/ in "$root"/*) ;; *) return 3;; esac
}
`;

/**
 * The agent: one process per SFTP session or file manager, reading commands from standard
 * input (an operation, then its arguments, one per line) and answering each with its output,
 * a newline, the session's marker and the code. `put` is followed by exactly that many
 * bytes, which are always read, even when the write is refused, so the stream stays in step.
 */
export const AGENT_SCRIPT = PRELUDE + `
exec 2>&1
m=$KURA_MARK
# An upload the panel never finished (it was killed mid-way) leaves its hidden file: gone once
# nothing has written to it for an hour. In the background, so a large tree costs no wait.
find "$root/" -xdev -type f -name '.kura-upload-*' -mmin +60 -exec rm -f -- {} + >/dev/null 2>&1 &
c_lstat() { at "$1" || return; ex "$p" || return 2; stat -c '%f %s %Y' -- "$p"; }
c_stat() { to "$1" || return; ex "$t" || return 2; stat -c '%f %s %Y' -- "$t"; }
c_list() {
  to "$1" || return; ex "$t" || return 2; [ -d "$t" ] || return 6
  cd -- "$t" 2>/dev/null || { cd -- "$root/"; return 1; }
  stat -c '%f %s %Y %n' -- .[!.]* ..?* * 2>/dev/null; cd -- "$root/"; return 0
}
c_mkdir() { at "$1" || return; ex "$p" && return 5; mkdir -- "$p" 2>&1; }
c_rmdir() { at "$1" || return; ex "$p" || return 2; [ -d "$p" ] && [ ! -L "$p" ] || return 6; rmdir -- "$p" 2>/dev/null || return 8; }
c_rm() { at "$1" || return; ex "$p" || return 2; [ -d "$p" ] && [ ! -L "$p" ] && return 7; rm -f -- "$p" 2>&1; }
c_rmtree() { [ -n "$1" ] || return 3; at "$1" || return; ex "$p" || return 2; rm -rf -- "$p" 2>&1; }
c_mv() { at "$1" || return; a=$p; ex "$a" || return 2; at "$2" || return; ex "$p" && return 5; mv -- "$a" "$p" 2>&1; }
c_replace() {
  at "$1" || return; a=$p; [ -f "$a" ] && [ ! -L "$a" ] || return 4
  at "$2" || return; [ -d "$p" ] && [ ! -L "$p" ] && return 7; mv -f -- "$a" "$p" 2>&1
}
c_chmod() { to "$2" || return; chmod "$1" -- "$t" 2>&1; }
c_touch() { to "$2" || return; touch -c -m -d "@$1" -- "$t" 2>&1; }
c_readlink() { at "$1" || return; [ -L "$p" ] || return 2; readlink -- "$p"; }
c_real() { to "$1" || return; ex "$t" || return 2; printf '%s' "\${t#"$root"}"; }
c_open() {
  to "$1" || return
  if ex "$t"; then
    case $2 in *x*) return 5;; esac
    [ -d "$t" ] && return 7; [ -f "$t" ] || return 4
    case $2 in *t*) true >"$t" || return 1; echo 0; return 0;; esac
    stat -c '%s' -- "$t"; return
  fi
  case $2 in *c*) ;; *) return 2;; esac
  true >"$t" || return 1
  [ -z "$3" ] || [ "$3" = 644 ] || chmod "$3" -- "$t" 2>&1 || return 1
  echo 0
}
c_put() {
  r=0; to "$1" || r=$?
  [ $r -eq 0 ] && ex "$t" && [ ! -f "$t" ] && r=4
  [ $r -eq 0 ] && ! command exec 3>"$t" && r=1
  if [ "$2" -eq 0 ]; then command exec 3>&-; return $r; fi
  if [ $r -ne 0 ]; then dd bs="$2" count=1 iflag=fullblock of=/dev/null 2>/dev/null; return $r; fi
  # fullblock reads every byte before writing any, so a failed write never leaves some unread.
  dd bs="$2" count=1 iflag=fullblock 2>&1 >&3 && { command exec 3>&-; return 0; }
  command exec 3>&-; rm -f -- "$t"; return 1
}
while IFS= read -r op; do
  case $op in
    lstat|stat|list|mkdir|rmdir|rm|rmtree|readlink|real) IFS= read -r a; "c_$op" "$a";;
    mv|replace|chmod|touch|put) IFS= read -r a; IFS= read -r b; "c_$op" "$a" "$b";;
    open) IFS= read -r a; IFS= read -r b; IFS= read -r c; c_open "$a" "$b" "$c";;
    *) exit 10;;
  esac
  printf '\\n%s %s\\n' "$m" "$?"
done
`;

/** Streams one file's bytes from an offset: $1 the path, $2 the offset. Exits 2/3/4 before any byte when refused. */
export const READ_SCRIPT = PRELUDE + `
to "$1" || exit; ex "$t" || exit 2; [ -f "$t" ] || exit 4
if [ "$2" -gt 0 ]; then exec tail -c +"$(($2 + 1))" -- "$t" 2>/dev/null; fi
exec cat -- "$t" 2>/dev/null
`;

/** Writes standard input to a file: $1 the path, $2 'truncate' or 'append'. The tool's message on failure. */
export const WRITE_SCRIPT = PRELUDE + `
to "$1" || exit; ex "$t" && [ ! -f "$t" ] && exit 4
if [ "$2" = append ]; then cat 2>&1 >>"$t"; else cat 2>&1 >"$t"; fi
`;

/** A folder as a gzipped tar of its contents: $1 the path. */
export const ARCHIVE_SCRIPT = PRELUDE + `
to "$1" || exit; [ -d "$t" ] || exit 6
cd -- "$t" && exec tar -czf - . 2>/dev/null
`;
