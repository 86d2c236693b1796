# args: -f alice@example.com -r bob@example.org
# vacation with a subject and reason built from variables
require ["vacation", "variables"];
if header :matches "subject" "*" { set "subj" "${1}"; }
vacation :days 10 :subject "Re: ${subj}" :from "Bob <bob@example.org>" "I got \"${subj}\".";
