#!/usr/bin/env bash
# Provides an Apache Kafka broker for the integration tests, inside the git-ignored
# .cache/kafka/ so that a fresh clone needs nothing but Java 17+ and Maven (installed
# with apt-get when missing and we are root on Debian):
#   .cache/kafka/lib/*.jar          org.apache.kafka:kafka_2.13 (pinned) and its runtime
#                                   dependencies, plus a log4j2 backend (Kafka's pom names
#                                   only slf4j-api; without a backend the broker logs nothing)
#   .cache/kafka/lib/kafka.version  the stamp: reused while it names the pinned versions
# Fetched from Maven Central with a generated pom and `dependency:copy-dependencies`,
# the Maven repository inside .cache/kafka/build (removed afterwards: only the jars
# are kept). test/servers/kafka-server.ts runs `java -cp '.cache/kafka/lib/*' kafka.Kafka`.
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKA_VERSION=4.1.2
SCALA_VERSION=2.13
LOG4J_VERSION=2.24.3 # the log4j2 line Kafka 4.1 ships in its own distribution
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

dir="$PWD/.cache/kafka"
stamp="kafka_$SCALA_VERSION-$KAFKA_VERSION log4j-$LOG4J_VERSION"

if [ "$(cat "$dir/lib/kafka.version" 2>/dev/null)" = "$stamp" ]; then
  echo "ensure-kafka: $stamp present"
  exit 0
fi

if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  # Debian: install them like scripts/ensure-system-deps.sh installs Postgres and Redis.
  if command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
    echo "ensure-kafka: installing openjdk-17-jdk-headless and maven via apt-get"
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y openjdk-17-jdk-headless maven; } </dev/null >/dev/null
  fi
fi
for tool in java mvn; do
  if ! command -v "$tool" >/dev/null; then
    echo "ensure-kafka: '$tool' is needed to fetch and run the test Kafka broker (Java 17+ and Maven; on Debian: apt-get install openjdk-17-jdk-headless maven); none on PATH" >&2
    exit 1
  fi
done
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if [ "${java_major:-0}" -lt 17 ]; then
  echo "ensure-kafka: Kafka $KAFKA_VERSION needs Java 17 or newer; java on PATH is ${java_major:-unknown}" >&2
  exit 1
fi

echo "ensure-kafka: fetching $stamp from Maven Central into .cache/kafka/lib"
rm -rf "$dir/build" "$dir/lib.tmp"
mkdir -p "$dir/build"
cat >"$dir/build/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>taskd.test</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_$SCALA_VERSION</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
mvn -B -q -f "$dir/build/pom.xml" -Dmaven.repo.local="$dir/build/m2" \
  "$DEPENDENCY_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$dir/lib.tmp"
if ! ls "$dir/lib.tmp/kafka_$SCALA_VERSION-$KAFKA_VERSION.jar" >/dev/null 2>&1; then
  echo "ensure-kafka: Maven finished but kafka_$SCALA_VERSION-$KAFKA_VERSION.jar is not in $dir/lib.tmp" >&2
  exit 1
fi
echo "$stamp" >"$dir/lib.tmp/kafka.version"
rm -rf "$dir/lib"
mv "$dir/lib.tmp" "$dir/lib"
# The Maven repository (plugins and all) is ~4x the jars; only lib/ is used.
rm -rf "$dir/build"
echo "ensure-kafka: $(ls "$dir/lib" | grep -c '\.jar$') jars in .cache/kafka/lib ($(du -sh "$dir/lib" | cut -f1))"
