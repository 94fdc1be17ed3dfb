// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these are HCL and templatefile expressions, not JS templates
// terraform-azure/ cannot be applied here (no Azure account, no provider download), so it is held
// to its promises statically: layout, resources and tags, network exposure, images, secrets.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTANCE_TYPES, instanceSpec } from '../../lambdas/shared/instance-types';
import { formatProblems } from './terraform-azure/hcl-format';
import { type Block, loadModule, MODULE_DIR, type Module } from './terraform-azure/module';

let mod: Module;
beforeAll(async () => {
  mod = await loadModule();
});

const resource = (type: string, name: string): Block => {
  const block = mod.resources[type]?.[name];
  if (!block) throw new Error(`terraform-azure has no ${type}.${name}`);
  return block;
};

// Every resource type of the module, and whether Azure lets it carry tags.
const TAGGABLE = [
  'azurerm_resource_group',
  'azurerm_virtual_network',
  'azurerm_public_ip',
  'azurerm_nat_gateway',
  'azurerm_network_security_group',
  'azurerm_network_interface',
  'azurerm_linux_virtual_machine',
];
const UNTAGGABLE = [
  'azurerm_subnet',
  'azurerm_nat_gateway_public_ip_association',
  'azurerm_subnet_nat_gateway_association',
  'azurerm_subnet_network_security_group_association',
  'azurerm_role_definition',
  'azurerm_role_assignment',
];

describe('terraform-azure layout', () => {
  const hasTerraform = spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0;

  it('is laid out as terraform fmt writes it', () => {
    for (const [file, text] of Object.entries(mod.files))
      expect([file, formatProblems(text)]).toEqual([file, []]);
    // CI's fresh Debian has no terraform package; where the binary exists it has the last word.
    if (hasTerraform) {
      const fmt = spawnSync('terraform', ['fmt', '-check', '-diff', '-recursive', MODULE_DIR], {
        env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
        encoding: 'utf8',
      });
      expect(`${fmt.stdout}${fmt.stderr}`).toBe('');
      expect(fmt.status).toBe(0);
    }
  });

  it('catches what terraform fmt would rewrite, even without terraform', () => {
    const main = mod.files['main.tf'] ?? '';
    expect(
      formatProblems(main.replace('  name     = "benchfleet-', '  name    = "benchfleet-')),
    ).toHaveLength(1);
    expect(formatProblems(main.replace('  location = var.region', '    location = var.region'))).toEqual([
      expect.stringMatching(/indented 4, expected 2/),
      expect.stringMatching(/"=" at column/),
    ]);
    expect(
      formatProblems(
        main.replace('sku_name                = "Standard"', 'sku_name                = "Standard" '),
      ),
    ).toEqual([expect.stringMatching(/trailing whitespace/)]);
    expect(formatProblems(`${main}\n`)).toEqual(['must end with exactly one newline']);
  });
});

describe('terraform-azure resources', () => {
  it('has every piece of a run: group, network, NAT, bastion, runners and their role', () => {
    for (const [type, name] of [
      ['azurerm_resource_group', 'run'],
      ['azurerm_virtual_network', 'run'],
      ['azurerm_subnet', 'bastion'],
      ['azurerm_subnet', 'runners'],
      ['azurerm_public_ip', 'nat'],
      ['azurerm_nat_gateway', 'run'],
      ['azurerm_nat_gateway_public_ip_association', 'run'],
      ['azurerm_subnet_nat_gateway_association', 'runners'],
      ['azurerm_network_security_group', 'runners'],
      ['azurerm_network_security_group', 'bastion'],
      ['azurerm_subnet_network_security_group_association', 'runners'],
      ['azurerm_subnet_network_security_group_association', 'bastion'],
      ['azurerm_public_ip', 'bastion'],
      ['azurerm_network_interface', 'bastion'],
      ['azurerm_linux_virtual_machine', 'bastion'],
      ['azurerm_network_interface', 'runner'],
      ['azurerm_linux_virtual_machine', 'runner'],
      ['azurerm_role_definition', 'self_deallocate'],
      ['azurerm_role_assignment', 'runner_self_deallocate'],
    ] as const) {
      expect(resource(type, name)).toBeDefined();
    }
    expect(resource('azurerm_resource_group', 'run').name).toBe('benchfleet-${var.run_id}');
    expect(resource('azurerm_subnet_nat_gateway_association', 'runners').subnet_id).toBe(
      '${azurerm_subnet.runners.id}',
    );
    expect(resource('azurerm_linux_virtual_machine', 'runner').for_each).toBe('${local.runner_vms}');
  });

  it('tags every taggable resource with the project and run id', () => {
    expect(mod.locals.tags).toMatch(
      // var.tags first, so a caller's tags cannot overwrite the two the nuke command relies on.
      /^\$\{merge\(var\.tags, \{\s*"benchfleet:project"\s*= var\.project\s*"benchfleet:run-id"\s*= tostring\(var\.run_id\)\s*\}\)\}$/,
    );
    for (const [type, byName] of Object.entries(mod.resources)) {
      expect([...TAGGABLE, ...UNTAGGABLE]).toContain(type); // a new type must be sorted into one list
      for (const [name, block] of Object.entries(byName)) {
        if (TAGGABLE.includes(type))
          expect([`${type}.${name}`, block.tags]).toEqual([
            `${type}.${name}`,
            expect.stringMatching(/^\$\{(local\.tags|merge\(local\.tags, .*\))\}$/s),
          ]);
      }
    }
  });

  it('lets nothing in from the internet but SSH to the bastion, and that only from ssh_source_cidrs', () => {
    expect(mod.resources.azurerm_network_security_rule).toBeUndefined(); // every rule is inline, below
    // the bastion's allow rule exists only when ssh_source_cidrs is not empty: a dynamic block
    const ssh = resource('azurerm_network_security_group', 'bastion').dynamic.security_rule;
    expect(ssh).toHaveLength(1);
    expect(ssh[0].for_each).toBe('${length(var.ssh_source_cidrs) > 0 ? [var.ssh_source_cidrs] : []}');
    expect(mod.variables.ssh_source_cidrs?.default).toEqual([]); // closed unless the operator opens it
    expect(mod.variables.ssh_source_cidrs?.validation?.[0]?.condition).toContain('cidrhost(c, 0)');
    const rules = (nsg: string): Block[] => {
      const group = resource('azurerm_network_security_group', nsg);
      const dynamic = (group.dynamic?.security_rule ?? []).flatMap((d: Block) => d.content);
      return [...group.security_rule, ...dynamic];
    };
    for (const nsg of ['runners', 'bastion']) {
      const inbound = rules(nsg).filter((r) => r.direction === 'Inbound');
      const allows = inbound.filter((r) => r.access === 'Allow');
      expect(allows).toHaveLength(1);
      expect(allows[0]).toMatchObject({ protocol: 'Tcp', destination_port_range: '22', priority: 100 });
      // An explicit deny outranks Azure's default AllowVnetInBound / AllowAzureLoadBalancerInBound.
      expect(inbound).toContainEqual(
        expect.objectContaining({
          access: 'Deny',
          source_address_prefix: '*',
          destination_port_range: '*',
          protocol: '*',
        }),
      );
      const association = resource('azurerm_subnet_network_security_group_association', nsg);
      expect(association.network_security_group_id).toBe(`\${azurerm_network_security_group.${nsg}.id}`);
      expect(association.subnet_id).toBe(`\${azurerm_subnet.${nsg}.id}`);
    }
    expect(rules('runners').find((r) => r.access === 'Allow')).toMatchObject({
      source_address_prefix: '${local.bastion_private_ip}/32',
    });
    expect(rules('runners').find((r) => r.access === 'Allow')?.source_address_prefixes).toBeUndefined();
    expect(rules('bastion').find((r) => r.access === 'Allow')).toMatchObject({
      source_address_prefixes: '${security_rule.value}',
    });
    expect(resource('azurerm_network_interface', 'bastion').ip_configuration[0].private_ip_address).toBe(
      '${local.bastion_private_ip}',
    );
  });

  it('gives a public address to the bastion alone; runners go out through the NAT', () => {
    expect(Object.keys(mod.resources.azurerm_public_ip ?? {}).sort()).toEqual(['bastion', 'nat']);
    expect(resource('azurerm_network_interface', 'runner').ip_configuration).toEqual([
      {
        name: 'primary',
        subnet_id: '${azurerm_subnet.runners.id}',
        private_ip_address_allocation: 'Dynamic',
      },
    ]);
    expect(resource('azurerm_network_interface', 'bastion').ip_configuration[0].public_ip_address_id).toBe(
      '${azurerm_public_ip.bastion[0].id}',
    );
    expect(resource('azurerm_nat_gateway_public_ip_association', 'run').public_ip_address_id).toBe(
      '${azurerm_public_ip.nat.id}',
    );
    expect(resource('azurerm_subnet', 'runners').default_outbound_access_enabled).toBe(false);
  });

  it('makes the bastion, which bills by the hour, only when ssh_source_cidrs lets someone reach it', () => {
    expect(mod.locals.bastion_count).toBe('${length(var.ssh_source_cidrs) > 0 ? 1 : 0}');
    for (const type of ['azurerm_public_ip', 'azurerm_network_interface', 'azurerm_linux_virtual_machine']) {
      expect([type, resource(type, 'bastion').count]).toEqual([type, '${local.bastion_count}']);
    }
    expect(resource('azurerm_linux_virtual_machine', 'bastion').network_interface_ids).toEqual([
      '${azurerm_network_interface.bastion[0].id}',
    ]);
  });

  it('boots runners only once the NAT and the NSG are on their subnet', () => {
    // cloud-init installs Docker and fetches runner.js at first boot, and the subnet has no other way out
    expect(resource('azurerm_linux_virtual_machine', 'runner').depends_on).toEqual(
      expect.arrayContaining([
        '${azurerm_subnet_nat_gateway_association.runners}',
        '${azurerm_nat_gateway_public_ip_association.run}',
        '${azurerm_subnet_network_security_group_association.runners}',
      ]),
    );
  });

  it('allows SSH keys only, on the bastion and the runners', () => {
    for (const vm of ['bastion', 'runner']) {
      const block = resource('azurerm_linux_virtual_machine', vm);
      expect(block.disable_password_authentication).toBe(true);
      expect(block.admin_password).toBeUndefined();
      expect(block.admin_ssh_key).toEqual([
        { username: '${var.admin_username}', public_key: '${var.bastion_ssh_public_key}' },
      ]);
    }
  });

  it('boots Arm64 sizes from the Arm64 Ubuntu LTS image and the rest from x86_64', () => {
    const image = resource('azurerm_linux_virtual_machine', 'runner').source_image_reference[0];
    expect(image).toEqual({
      publisher: '${local.ubuntu_image.publisher}',
      offer: '${local.ubuntu_image.offer}',
      sku: '${can(regex(local.arm64_size_pattern, each.value)) ? local.ubuntu_image.arm64_sku : local.ubuntu_image.x86_64_sku}',
      version: 'latest',
    });
    expect(mod.locals.ubuntu_image).toEqual({
      publisher: 'Canonical',
      offer: 'ubuntu-24_04-lts',
      x86_64_sku: 'server',
      arm64_sku: 'server-arm64',
    });
    // The HCL pattern (RE2; this one means the same in JS) against the catalog and the name rules.
    const arm64 = new RegExp(mod.locals.arm64_size_pattern);
    const sizes = [
      ...[...INSTANCE_TYPES.values()].filter((s) => s.provider === 'azure').map((s) => s.instance_type),
      'Standard_D8pds_v6',
      'Standard_E4ps_v5',
      'Standard_D16s_v5',
      'Standard_F4als_v6',
    ];
    for (const size of sizes) {
      const sku = arm64.test(size) ? 'server-arm64' : 'server';
      expect([size, sku]).toEqual([
        size,
        instanceSpec('azure', size).arch === 'arm64' ? 'server-arm64' : 'server',
      ]);
    }
    expect(arm64.test('Standard_D2pls_v6')).toBe(true);
    expect(resource('azurerm_linux_virtual_machine', 'bastion').source_image_reference[0].sku).toBe(
      '${local.ubuntu_image.x86_64_sku}',
    );
  });

  it('boots v6 sizes, which need it, from an NVMe disk controller', () => {
    expect(resource('azurerm_linux_virtual_machine', 'runner').disk_controller_type).toBe(
      '${can(regex(local.nvme_size_pattern, each.value)) ? "NVMe" : null}',
    );
    const nvme = new RegExp(mod.locals.nvme_size_pattern);
    for (const size of ['Standard_D2pls_v6', 'Standard_D2als_v6', 'Standard_F2als_v6', 'Standard_D2ls_v6']) {
      expect([size, nvme.test(size)]).toEqual([size, true]);
    }
    for (const size of ['Standard_D2pls_v5', 'Standard_D2s_v5', 'Standard_B1s', 'Standard_D2_v2']) {
      expect([size, nvme.test(size)]).toEqual([size, false]);
    }
  });

  it('lets each runner deallocate itself and do nothing else', () => {
    const vm = resource('azurerm_linux_virtual_machine', 'runner');
    expect(vm.identity).toEqual([{ type: 'SystemAssigned' }]);
    const role = resource('azurerm_role_definition', 'self_deallocate');
    expect(role.permissions).toEqual([
      {
        actions: [
          'Microsoft.Compute/virtualMachines/read',
          'Microsoft.Compute/virtualMachines/deallocate/action',
        ],
      },
    ]);
    expect(role.assignable_scopes).toEqual(['${azurerm_resource_group.run.id}']);
    expect(resource('azurerm_role_assignment', 'runner_self_deallocate')).toMatchObject({
      for_each: '${local.runner_vms}',
      scope: '${azurerm_linux_virtual_machine.runner[each.key].id}',
      role_definition_id: '${azurerm_role_definition.self_deallocate.role_definition_resource_id}',
      principal_id: '${azurerm_linux_virtual_machine.runner[each.key].identity[0].principal_id}',
    });
  });
});

describe('terraform-azure inputs and outputs', () => {
  it('takes the inputs the CLI passes, with the secrets sensitive', () => {
    for (const name of [
      'run_id',
      'api_url',
      'api_key',
      'runner_artifact_url',
      'fleet',
      'region',
      'bastion_ssh_public_key',
      'tags',
    ]) {
      expect(mod.variables[name]).toBeDefined();
    }
    expect(mod.variables.api_key?.sensitive).toBe(true);
    expect(mod.variables.runner_artifact_url?.sensitive).toBe(true);
    expect(mod.variables.fleet?.type).toBe('${map(number)}');
    expect(mod.variables.tags?.type).toBe('${map(string)}');
  });

  it('puts no secret in an output', () => {
    expect(Object.keys(mod.outputs).sort()).toEqual([
      'bastion_public_ip',
      'bastion_ssh',
      'nat_public_ip',
      'resource_group_name',
      'runner_private_ips',
      'runner_vm_names',
    ]);
    for (const [name, output] of Object.entries(mod.outputs)) {
      expect(output.sensitive).toBeUndefined();
      expect([name, JSON.stringify(output.value)]).not.toEqual([
        name,
        expect.stringMatching(/api_key|artifact|runner_values|custom_data/),
      ]);
    }
    expect(mod.outputs.runner_vm_names?.value).toBe(
      '${[for vm in azurerm_linux_virtual_machine.runner : vm.name]}',
    );
  });

  it('documents every input in its README', () => {
    const readme = readFileSync(join(MODULE_DIR, 'README.md'), 'utf8');
    for (const name of Object.keys(mod.variables))
      expect([name, readme.includes(`\`${name}\``)]).toEqual([name, true]);
  });
});
