import XCTest
@testable import VisorPerception

final class CodePayloadTests: XCTestCase {
    func testPayloadKinds() {
        let cases: [(String, CodePayloadKind)] = [
            ("https://example.org/menu", .url), ("HTTP://EXAMPLE.ORG", .url), ("www.example.org", .url),
            ("WIFI:T:WPA;S:Cafe;P:latte123;;", .wifi), ("BEGIN:VCARD\nFN:Ada\nEND:VCARD", .contact), ("MECARD:N:Ada;;", .contact),
            ("mailto:ada@example.org", .email), ("tel:+441234", .phone), ("geo:51.5,-0.1", .geo),
            ("Thalassiodracon", .text), ("Rana temporaria", .text),
        ]
        for (payload, kind) in cases { XCTAssertEqual(CodePayloadKind(payload: payload), kind, payload) }
    }

    func testWiFiCredentialsWithEscapes() throws {
        let wifi = try XCTUnwrap(WiFiCredentials(payload: #"WIFI:S:My\;Net;T:WPA;P:pa\:ss\\word;H:true;;"#))
        XCTAssertEqual(wifi.ssid, "My;Net")
        XCTAssertEqual(wifi.security, "WPA")
        XCTAssertEqual(wifi.password, #"pa:ss\word"#)
        XCTAssertTrue(wifi.hidden)
        XCTAssertNil(WiFiCredentials(payload: "WIFI:T:WPA;;"), "no network name")
        XCTAssertNil(WiFiCredentials(payload: "https://example.org"))
    }
}
