# args: -f alice@example.com -r bob@example.org
# vacation-seconds (RFC 6131): below the minimum period it is raised
require ["vacation-seconds"];
vacation :seconds 3600 :mime text:
Content-Type: text/plain; charset=utf-8

Away for an hour.
.
;
