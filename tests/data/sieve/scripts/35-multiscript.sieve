# args: -s BEFORE/b-flags.sieve
# before/personal sequence (Pigeonhole's sieve_before): the personal script runs only while
# the message is kept; the imap4flags internal variable carries over
require ["fileinto", "imap4flags"];
if header :contains "subject" "meeting" { fileinto "Meetings"; }
