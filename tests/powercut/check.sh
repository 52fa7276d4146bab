#!/bin/sh
# check.sh - the checker of the power-cut suite: is a surviving state one
# that hotswap promises?
#
#   check.sh [-t] [-i] [-c] [-R COMMAND] OLD NEW PATH... STATE
#
# OLD is the tree before the command (the seed), NEW the tree a run of
# the same command without a power cut left; PATH... are the paths (
# relative to the trees) to judge in STATE, the state powercut hands over.
# Each PATH of STATE is classified:
#   same     what OLD and NEW both have there (it goes with either)
#   old      what OLD has there (content, type, mode, owner; absent if
#            OLD has nothing there)
#   new      the same for NEW
#   missing  absent, where OLD and NEW both have something
#   empty    an empty regular file that is neither
#   torn     anything else
# The first line of output lists them ("dest=old dest~=missing"), for
# powercut's report and the benchmark's tally.  OLD and NEW must not
# change during one powercut run: their signatures are cached for the
# run (POWERCUT_RUN) beside NEW, in NEW.sigs.* (removed with NEW).
#
# Accepted: every PATH old or new; with -t all old or all new (a tree);
# once the command has exited 0 (POWERCUT_FINAL=1, POWERCUT_STATUS=0),
# every PATH new.  -i (--in-place, which is not atomic): before that, any
# state but missing.  -R runs COMMAND in STATE first (hotswap recover),
# which must succeed; -c then wants no temporary (.NAME.hs-*) and no
# journal (.hotswap-journal) left beside any PATH.
set -u

tree=0 inplace=0 clean=0 pre=
while getopts 'ticR:' o; do
	case $o in
	t) tree=1 ;;
	i) inplace=1 ;;
	c) clean=1 ;;
	R) pre=$OPTARG ;;
	*) echo "usage: check.sh [-t] [-i] [-c] [-R COMMAND] OLD NEW PATH... STATE" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 4 ] || { echo "check.sh: too few arguments" >&2; exit 2; }
old=$1 new=$2
shift 2
eval "state=\${$#}"

# sigs DIR PATH...: "PATH SIGNATURE" a line, where two files share a
# signature only if they are the same to us: type, mode, owner, and the
# content's CRC and size or the link's target ("absent" if not there).
# Two processes for all the paths (this runs once per state); the paths
# of this suite have no blanks.
sigs() (
	cd "$1" || exit 1
	shift
	there= regs=
	for p do
		if [ -L "$p" ] || [ -e "$p" ]; then there="$there $p"; fi
		if [ -f "$p" ] && [ ! -L "$p" ]; then regs="$regs $p"; fi
	done
	{
		[ -z "$there" ] || stat -c '%n s %F %f %u %g %N' $there
		[ -z "$regs" ] || cksum $regs | while read -r crc size name; do
			echo "$name c $crc $size"
		done
	} | sort
	for p do
		case " $there " in *" $p "*) ;; *) echo "$p s absent" ;; esac
	done
)

paths=
for p do
	[ "$p" = "$state" ] && break
	paths="$paths $p"
done

if [ -n "$pre" ]; then
	if ! out=$(cd "$state" && eval "$pre" 2>&1); then
		echo "recovery failed: $out"
		exit 1
	fi
fi

# OLD and NEW do not change while powercut runs: within one run
# (POWERCUT_RUN), their signatures are kept in NEW.sigs.KEY.
# shellcheck disable=SC2086
if [ -n "${POWERCUT_RUN:-}" ]; then
	cache=$new.sigs.$(printf '%s\n' "$POWERCUT_RUN" "$old" $paths |
	    cksum | tr ' ' -)
else
	cache=$new.sigs.$$
	trap 'rm -f "$cache"' EXIT
fi
if [ ! -f "$cache" ]; then
	{ sigs "$old" $paths | sed 's/^/o /'
	  sigs "$new" $paths | sed 's/^/n /'; } >"$cache.$$" &&
	    mv -f "$cache.$$" "$cache"
fi

# Each path: same, old, new, missing, empty (a regular file of size 0)
# or torn.  Out: "PATH=LABEL ..." and, after a tab, the labels but same.
# shellcheck disable=SC2086
classified=$({ cat "$cache"; sigs "$state" $paths | sed 's/^/s /'; } \
    | awk -v paths="$paths" '
	{ k = $1 SUBSEP $2; v = $0; sub(/^[^ ]* [^ ]* /, "", v)
	  sig[k] = sig[k] v ";"
	  if ($1 == "s" && $3 == "c" && $5 == 0) empty[$2] = 1 }
	END {
		n = split(paths, p, " ")
		for (i = 1; i <= n; i++) {
			s = sig["s" SUBSEP p[i]]; o = sig["o" SUBSEP p[i]]
			w = sig["n" SUBSEP p[i]]
			if (s == o && s == w) c = "same"
			else if (s == o) c = "old"
			else if (s == w) c = "new"
			else if (s == "s absent;") c = "missing"
			else if (p[i] in empty) c = "empty"
			else c = "torn"
			labels = labels (i > 1 ? " " : "") p[i] "=" c
			if (c != "same" && !(c in seen)) {
				seen[c] = 1
				list = list (list == "" ? "" : " ") c
			}
		}
		printf "%s\t%s\n", labels, list
	}')
labels=${classified%%	*}
seen=${classified#*	}

left=
if [ "$clean" -eq 1 ]; then
	for p in $paths; do
		d=$(dirname "$state/$p")
		for f in "$d"/.*.hs-* "$d"/.hotswap-journal; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			case " $left " in *" ${f#"$state"/} "*) continue ;; esac
			left="$left ${f#"$state"/}"
		done
	done
fi
echo "$labels${left:+ left behind:$left}"

[ -z "$left" ] || exit 1
if [ "${POWERCUT_FINAL:-0}" = 1 ] && [ "${POWERCUT_STATUS:-1}" = 0 ]; then
	[ "$seen" = new ] || [ -z "$seen" ]
	exit
fi
if [ "$inplace" -eq 1 ]; then
	case " $seen " in *" missing "*) exit 1 ;; esac
	exit 0
fi
case $seen in
""|old|new|"old new"|"new old") ;;
*) exit 1 ;;
esac
[ "$tree" -eq 0 ] && exit 0
case $seen in *" "*) exit 1 ;; esac
exit 0
