package ticket

import "github.com/skip2/go-qrcode"

// QRSize is the width and height, in pixels, of a credential's QR code.
const QRSize = 300

// QR draws a credential as a QR code: a PNG of QRSize pixels with medium error correction (a
// credential of about 330 bytes fits a version-13 code that phones and door scanners read at
// arm's length). Drawing is deterministic: one credential, one PNG, byte for byte.
func QR(credential string) ([]byte, error) {
	return qrcode.Encode(credential, qrcode.Medium, QRSize)
}
