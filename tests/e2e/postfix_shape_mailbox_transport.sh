#!/bin/bash
# e2e: the README's Postfix shape "mailbox_transport", applied verbatim to the system's Postfix in a private
# config directory (tests/e2e/postfix-shapes.bash says what is sent and expected).
. "$SRCDIR/tests/e2e/postfix-shapes.bash"
run_shape mailbox_transport
