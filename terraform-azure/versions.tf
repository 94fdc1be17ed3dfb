terraform {
  required_version = ">= 1.5"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
  }
}

# Credentials and the subscription come from the environment (ARM_SUBSCRIPTION_ID, `az login` or
# ARM_CLIENT_ID/ARM_CLIENT_SECRET/ARM_TENANT_ID), so no secret of the operator's lands in a tfvars file.
provider "azurerm" {
  features {
    resource_group {
      # The group is the run's and goes whole: anything Azure or a policy added to it outside
      # terraform (a VM extension, say) must not block `terraform destroy`.
      prevent_deletion_if_contains_resources = false
    }
  }
}
