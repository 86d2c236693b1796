# discard then stop; actions before stop stay
require ["fileinto", "copy"];
fileinto :copy "Seen";
if header :contains "subject" ["fire", "digest"] { discard; stop; }
fileinto "Rest";
