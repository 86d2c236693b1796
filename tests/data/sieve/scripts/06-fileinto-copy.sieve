# fileinto and copy (RFC 3894), duplicate folder elimination
require ["fileinto", "copy"];
fileinto :copy "Copies";
fileinto :copy "Copies";
if header :contains "to" "bob" { fileinto "Bob"; fileinto "Bob"; }
redirect :copy "audit@example.net";
