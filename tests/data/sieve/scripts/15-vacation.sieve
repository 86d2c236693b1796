# args: -f alice@example.com -r bob@example.org
# vacation (RFC 5230): defaults, :days, :subject, :from, :addresses, :handle
require "vacation";
if header :contains "subject" "Meeting" {
	vacation :days 3 :subject "Out of office" :from "bob@example.org" :addresses ["bob@example.org"] :handle "ooo" "I am away until Monday.";
} else {
	vacation "Back soon.";
}
