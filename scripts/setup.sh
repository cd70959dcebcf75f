#!/usr/bin/env bash
# Installs what the build, the tests and the demo need and is missing; quiet when all is there.
# Idempotent. Written for Debian 12 (root, apt). Needs only Debian's package mirrors (Maven
# itself fetches from Maven Central during the build).
#
#   command           Debian package   used by
#   clang             clang            bpf/build.sh: compiles bpf/splice.c (-target bpf)
#   /usr/sbin/capsh   libcap2-bin      SpliceEngineIT: runs a JVM without CAP_BPF/CAP_NET_ADMIN
#   /usr/bin/setpriv  util-linux       AgentPackagingIT: runs a JVM as an unprivileged user
#   bpftool           bpftool          LossyLinkIT, scripts/lossy.sh: reads the loss classifier's counters
#   tc, ip            iproute2         LossyLinkIT, scripts/lossy.sh: network namespace, clsact qdisc
#   mvn               maven            the build
#   java (17+)        openjdk-17-jdk-headless   the build and every child JVM
#
# Not installed here (not in Debian 12): a JDK 25. The kernel tests also run the agent on
# /usr/lib/jvm/temurin-25-jdk-amd64 (override with -Dsockmap.it.jdk25=<JAVA_HOME>); this script
# only warns when it is absent.
set -euo pipefail

missing=()
need() { # need <package> <command or absolute path>
    local pkg=$1 what=$2
    if [[ $what == /* ]]; then
        [ -x "$what" ] && return 0
    else
        command -v "$what" >/dev/null 2>&1 && return 0
    fi
    missing+=("$pkg")
}

need clang clang
need libcap2-bin /usr/sbin/capsh
need util-linux /usr/bin/setpriv
need bpftool bpftool
need iproute2 tc
need iproute2 ip
need maven mvn
if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    missing+=(openjdk-17-jdk-headless)
fi

if [ "${#missing[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: missing ${missing[*]} and no apt-get here; install them by hand" >&2
        exit 1
    fi
    SUDO=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=(sudo)
        else
            echo "setup: missing ${missing[*]}; run this script as root to install them" >&2
            exit 1
        fi
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Checks that nothing can install from here: say what is wrong, do not fail (the build reports it).
java_feature=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if [ -n "$java_feature" ] && [ "${java_feature%%.*}" -lt 17 ] 2>/dev/null; then
    echo "setup: warning: 'java' is JDK $java_feature; the build needs JDK 17 or newer" >&2
fi
if [ ! -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
    echo "setup: warning: no JDK 25 at /usr/lib/jvm/temurin-25-jdk-amd64: the JDK 25 kernel tests will skip" \
         "(fail with CI=true); pass -Dsockmap.it.jdk25=<JAVA_HOME> to use another one" >&2
fi
