# args: -m Archive
# mailbox (RFC 5490): mailboxexists and fileinto :create
require ["mailbox", "fileinto"];
if mailboxexists "Archive" { fileinto "Archive"; }
if mailboxexists ["Archive", "Missing"] { fileinto "both"; }
if mailboxexists "INBOX" { fileinto :create "New/Sub"; }
