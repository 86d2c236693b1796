# RFC 5228 5.1: address parts on address headers, comparators
require "fileinto";
if address :domain :is "from" "example.com" { fileinto "From-example"; }
if address :localpart :comparator "i;octet" :is "cc" "dave" { fileinto "Dave"; }
if address :all :is ["to", "cc"] "DAVE@example.net" { fileinto "Dave-casemap"; }
if address :domain :comparator "i;octet" :is "cc" "example.net" { fileinto "octet-domain"; }
if address :matches "from" "*@*.example" { fileinto "dot-example"; }
if not address :contains "bcc" "bob" { fileinto "no-bcc"; }
