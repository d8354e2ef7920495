package datamask_test

import (
	"fmt"
	"log"

	"github.com/datamask/datamask"
)

func ExampleErase() {
	doc := []byte(`{"name": "Ana", "ssn": "123-45-6789", "id": 12345678901234567890, "price": 1.50}`)
	out, err := datamask.Erase(doc, datamask.Fields("$.ssn"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output:
	// {"name": "Ana", "ssn": "*****", "id": 12345678901234567890, "price": 1.50}
}

func ExampleDataMasker_Erase() {
	m, err := datamask.New()
	if err != nil {
		log.Fatal(err)
	}
	doc := []byte(`{"customers": [{"email": "ana@example.com", "address": [{"street": "1 Main St", "postcode": 12345}]}]}`)
	// Powertools (jsonpath-ng) expressions work as they are.
	out, err := m.Erase(doc, datamask.Fields("customers[*].address[*].street", "$..email"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output:
	// {"customers": [{"email": "*****", "address": [{"street": "*****", "postcode": 12345}]}]}
}

func ExampleDataMasker_Erase_wholeDocument() {
	m, err := datamask.New()
	if err != nil {
		log.Fatal(err)
	}
	for _, doc := range []string{`{"secret": 1}`, `[1, "two", {"three": 3}]`} {
		out, err := m.Erase([]byte(doc))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(out))
	}
	// Output:
	// "*****"
	// ["*****", "*****", "*****"]
}

func ExampleDataMasker_Erase_masks() {
	m, err := datamask.New()
	if err != nil {
		log.Fatal(err)
	}
	doc := []byte(`{"ssn": "123-45-6789", "age": 30, "email": "ana@example.com", "card": "4111 1111 1111 1111"}`)
	for _, opts := range [][]datamask.CallOption{
		{datamask.Fields("ssn", "age"), datamask.DynamicMask()},
		{datamask.Fields("email"), datamask.RegexMask(`(.)(.*)(@.*)`, `\1****\3`)},
		{datamask.Fields("card"), datamask.CustomMask("XXXX")},
	} {
		out, err := m.Erase(doc, opts...)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(out))
	}
	// Output:
	// {"ssn": "***-**-****", "age": "**", "email": "ana@example.com", "card": "4111 1111 1111 1111"}
	// {"ssn": "123-45-6789", "age": 30, "email": "a****@example.com", "card": "4111 1111 1111 1111"}
	// {"ssn": "123-45-6789", "age": 30, "email": "ana@example.com", "card": "XXXX"}
}

func ExampleMaskingRules() {
	doc := []byte(`{"email": "johndoe@example.com", "age": 30, "address": {"zip": 13000, "street": "123 Main St"}}`)
	out, err := datamask.Erase(doc, datamask.MaskingRules(map[string]datamask.MaskRule{
		"email":       {RegexPattern: `(.)(.*)(@.*)`, MaskFormat: `\1****\3`},
		"age":         {DynamicMask: true},
		"address.zip": {CustomMask: "xxx"},
	}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output:
	// {"email": "j****@example.com", "age": "**", "address": {"zip": "xxx", "street": "123 Main St"}}
}

func ExampleAllowMissingFields() {
	var missing []string
	out, err := datamask.Erase([]byte(`{"name": "Ana"}`),
		datamask.Fields("name", "$.phone"), datamask.AllowMissingFields(&missing))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out), missing)
	// Output:
	// {"name": "*****"} [$.phone]
}

func ExampleDataMasker_EraseValue() {
	type Customer struct {
		Name string `json:"name"`
		SSN  string `json:"ssn"`
	}
	m, err := datamask.New()
	if err != nil {
		log.Fatal(err)
	}
	out, err := m.EraseValue(Customer{Name: "Ana", SSN: "123-45-6789"}, datamask.Fields("ssn"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output:
	// {"name":"Ana","ssn":"*****"}
}
