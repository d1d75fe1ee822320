module github.com/magelab/magelab

go 1.26.8

tool github.com/magefile/mage

require (
	github.com/google/uuid v1.6.0
	github.com/magefile/mage v1.17.2
	gopkg.in/yaml.v3 v3.0.1
)
