import SluiceCore
import SluiceWebhooks
import Testing

@Suite struct MediaTypesTests {
    @Test(arguments: [
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("  application/cloudevents+json ;charset=utf-8", "application/cloudevents+json"),
        ("\ttext/plain\t", "text/plain"),
        ("", ""),
        (";", ""),
        ("APPLICATION/VND.ACME+JSON", "application/vnd.acme+json"),
        ("application/json;", "application/json"),
        ("applicatión/json", "applicatión/json"),
    ])
    func theEssenceIsTheLowercasedTypeWithoutParameters(contentType: String, essence: String) {
        #expect(MediaType.essence(of: contentType) == essence)
    }

    @Test func exactAndWildcardPatterns() {
        let types = MediaTypes(["application/json", "application/*+json", "text/*"])
        for accepted in [
            "application/json", "APPLICATION/json; charset=utf-8", " application/json ", "application/vnd.acme+json",
            "text/plain", "text/csv;header=present",
        ] {
            #expect(types.accepts(accepted), "\(accepted)")
        }
        for refused in [
            "", "application", "application/", "/json", "application/xml", "image/png", "application/jsonx",
            "application/json+xml", "json",
        ] {
            #expect(!types.accepts(refused), "\(refused)")
        }
    }
}
