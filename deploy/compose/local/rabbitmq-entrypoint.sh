#!/bin/sh
# The default user is created from rabbitmq.conf at the first boot of an
# empty node; guest stays loopback-only.
set -eu
export RABBITMQ_CONFIG_FILE=/var/lib/rabbitmq/rabbitmq.conf
cat >"$RABBITMQ_CONFIG_FILE" <<CONF
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
CONF
exec rabbitmq-server
