# discard cancels only the implicit keep; an explicit keep still delivers
if header :contains "subject" "Meeting" { discard; keep; }
if header :contains "from" "mallory" { discard; }
