package legacy

// Hooks for the fuzz tests of package legacy_test, which seed them with the
// vectors' items.
var (
	ParseAttribute            = parseAttribute
	AppendAttribute           = appendAttribute
	ParseMaterialDescription  = parseMaterialDescription
	AppendMaterialDescription = appendMaterialDescription
	NormalizeNumber           = normalizeNumber
)
