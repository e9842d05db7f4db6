/**
 * The task.json rules that matter, written down by the project: `tfx extension create` only warns about a bad
 * task.json (and packages it anyway), and the service may reject or mis-render what it accepted. So a typo in
 * a key, an input type, a handler name or a visibleRule fails here, in the clone, with no file from outside.
 *
 * Sources: the official schema microsoft/azure-pipelines-task-lib `tasks.schema.json`
 * (https://github.com/microsoft/azure-pipelines-task-lib/blob/master/tasks.schema.json: the key sets, input
 * types, property enums, handler names and name patterns below), and the checks tfx-cli runs on package
 * (https://github.com/microsoft/tfs-cli/blob/master/app/lib/jsonvalidate.ts: id is a GUID, friendlyName is 1-40
 * characters, instanceNameFormat is present, every handler's target file exists).
 */

/** Top-level keys the schema allows (`additionalProperties: false`). */
const TOP_LEVEL = new Set([
  '$schema',
  'id',
  'name',
  'friendlyName',
  'description',
  'helpUrl',
  'helpMarkDown',
  'author',
  'preview',
  'deprecated',
  'removalDate',
  'deprecationMessage',
  'showEnvironmentVariables',
  'runsOn',
  'visibility',
  'category',
  'groups',
  'demands',
  'minimumAgentVersion',
  'version',
  'instanceNameFormat',
  'releaseNotes',
  'inputs',
  'dataSourceBindings',
  'sourceDefinitions',
  'prejobexecution',
  'execution',
  'postjobexecution',
  'messages',
  'outputVariables',
  'restrictions',
]);

/** What a published task must have before anyone can add it to a pipeline. */
const REQUIRED = [
  'id',
  'name',
  'friendlyName',
  'description',
  'author',
  'category',
  'version',
  'instanceNameFormat',
];

export const HANDLERS = new Set([
  'Node24',
  'Node20_1',
  'Node16',
  'Node10',
  'Node',
  'PowerShell3',
  'PowerShell',
]);
/** Handlers the agent has announced end of life for; a task that only has these gets a tfx warning. */
const END_OF_LIFE_HANDLERS = new Set(['Node', 'Node10', 'Node16']);

const INPUT_TYPES = new Set([
  'boolean',
  'filePath',
  'multiLine',
  'pickList',
  'radio',
  'secureFile',
  'string',
  'int',
  'identities',
  'querycontrol',
]);
const INPUT_KEYS = new Set([
  'name',
  'aliases',
  'label',
  'type',
  'defaultValue',
  'required',
  'helpMarkDown',
  'groupName',
  'visibleRule',
  'properties',
  'options',
]);
const TRUE_FALSE_PROPERTIES = new Set([
  'EditableOptions',
  'MultiSelect',
  'MultiSelectFlatList',
  'DisableManageLink',
  'IsSearchable',
  'PopulateDefaultValue',
]);
const GROUP_KEYS = new Set(['name', 'displayName', 'isExpanded', 'visibleRule']);
const OUTPUT_KEYS = new Set(['name', 'description']);
const CATEGORIES = new Set([
  'Build',
  'Utility',
  'Test',
  'Package',
  'Deploy',
  'Azure Repos',
  'Azure Boards',
  'Azure Pipelines',
  'Azure Test Plans',
  'Azure Artifacts',
]);
const NAME = /^[A-Za-z][A-Za-z0-9]*$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * visibleRule: `<input> <operator> <value>` clauses joined by `&&` or `||`, as in the schema's description
 * (`a != "" && b = value || c NotEndsWith value`). The operator list is deliberately closed: a misspelt
 * operator fails here instead of silently hiding or showing an input.
 */
const RULE_OPERATORS = [
  '==',
  '!=',
  '<=',
  '>=',
  '=',
  '<',
  '>',
  'NotContains',
  'NotStartsWith',
  'NotEndsWith',
  'Contains',
  'StartsWith',
  'EndsWith',
];

export interface RuleClause {
  input: string;
  operator: string;
  value: string;
}

/** Parses a visibleRule into its clauses; throws with the offending clause when it is not in the grammar. */
export function parseVisibleRule(rule: string): RuleClause[] {
  const clauses = rule.split(/\s*(?:&&|\|\|)\s*/);
  return clauses.map((clause) => {
    const m = /^([A-Za-z][A-Za-z0-9]*)\s*(==|!=|<=|>=|=|<|>|\s[A-Za-z]+\s)\s*(.*)$/.exec(clause.trim());
    const operator = m?.[2]?.trim();
    if (!m || !operator || !RULE_OPERATORS.includes(operator) || m[3] === undefined || m[3].trim() === '')
      throw new Error(
        `clause '${clause}' is not '<input> <operator> <value>' (operators: ${RULE_OPERATORS.join(' ')})`,
      );
    return { input: m[1] as string, operator, value: m[3].trim().replace(/^"(.*)"$/, '$1') };
  });
}

type Json = Record<string, unknown>;

function unknownKeys(obj: Json, allowed: Set<string>): string[] {
  return Object.keys(obj).filter((k) => !allowed.has(k));
}

/** Every rule broken by `task`, as readable lines naming the field; empty when the file is good. */
export function taskJsonProblems(
  task: Json,
  targetExists: (target: string) => boolean = () => true,
): string[] {
  const problems: string[] = [];
  const say = (line: string) => problems.push(line);

  for (const key of unknownKeys(task, TOP_LEVEL)) say(`unknown top-level key '${key}'`);
  for (const key of REQUIRED) if (task[key] === undefined || task[key] === '') say(`'${key}' is required`);
  if (typeof task.id !== 'string' || !GUID.test(task.id)) say(`id '${task.id}' is not a GUID`);
  if (typeof task.name !== 'string' || !/^[A-Za-z0-9-]+$/.test(task.name))
    say(`name '${task.name}' must be letters, digits and dashes`);
  const friendly = task.friendlyName;
  if (typeof friendly !== 'string' || friendly.length < 1 || friendly.length > 40)
    say(
      `friendlyName must be 1-40 characters (is ${typeof friendly === 'string' ? friendly.length : 'missing'})`,
    );
  if (task.category !== undefined && !CATEGORIES.has(task.category as string))
    say(`category '${task.category}' is not one of ${[...CATEGORIES].join(', ')}`);
  const version = task.version as Json | undefined;
  if (version) {
    for (const part of ['Major', 'Minor', 'Patch'])
      if (typeof version[part] !== 'number') say(`version.${part} must be a number`);
    for (const key of unknownKeys(version, new Set(['Major', 'Minor', 'Patch'])))
      say(`unknown key version.${key}`);
  }
  if (task.minimumAgentVersion !== undefined && !/^\d+\.\d+(\.\d+)?$/.test(String(task.minimumAgentVersion)))
    say(`minimumAgentVersion '${task.minimumAgentVersion}' is not a version like 3.232.1`);

  // Handlers: known names, each with a target file that exists; at least one not at end of life.
  let handlerCount = 0;
  for (const section of ['prejobexecution', 'execution', 'postjobexecution']) {
    const handlers = task[section] as Record<string, Json> | undefined;
    if (!handlers) continue;
    for (const [handler, spec] of Object.entries(handlers)) {
      handlerCount++;
      if (!HANDLERS.has(handler))
        say(`${section}: unknown handler '${handler}' (known: ${[...HANDLERS].join(', ')})`);
      if (typeof spec?.target !== 'string' || spec.target === '')
        say(`${section}.${handler}.target is required`);
      else if (!targetExists(spec.target))
        say(`${section}.${handler}.target '${spec.target}' does not exist`);
      const platforms = spec?.platforms;
      if (platforms !== undefined && !(Array.isArray(platforms) && platforms.every((p) => p === 'windows')))
        say(`${section}.${handler}.platforms may only list 'windows'`);
    }
    if (Object.keys(handlers).every((h) => END_OF_LIFE_HANDLERS.has(h)))
      say(`${section} only has end-of-life handlers (${Object.keys(handlers).join(', ')})`);
  }
  if (!task.execution || handlerCount === 0) say(`'execution' needs at least one handler`);

  // Groups.
  const groups = (task.groups as Json[] | undefined) ?? [];
  const groupNames = new Set<string>();
  for (const group of groups) {
    for (const key of unknownKeys(group, GROUP_KEYS)) say(`group '${group.name}': unknown key '${key}'`);
    if (typeof group.name !== 'string' || typeof group.displayName !== 'string')
      say(`group '${group.name}' needs a name and a displayName`);
    else if (groupNames.has(group.name)) say(`group '${group.name}' is declared twice`);
    else groupNames.add(group.name);
  }

  // Inputs.
  const inputs = (task.inputs as Json[] | undefined) ?? [];
  const byName = new Map<string, Json>();
  for (const input of inputs) {
    const name = String(input.name);
    for (const key of unknownKeys(input, INPUT_KEYS)) say(`input '${name}': unknown key '${key}'`);
    if (!NAME.test(name))
      say(`input name '${name}' must start with a letter and hold only letters and digits`);
    if (byName.has(name)) say(`input '${name}' is declared twice`);
    byName.set(name, input);
    for (const alias of (input.aliases as string[] | undefined) ?? []) {
      if (byName.has(alias)) say(`input '${name}': alias '${alias}' collides with another name`);
      byName.set(alias, input);
    }
    if (typeof input.label !== 'string' || input.label === '') say(`input '${name}' needs a label`);
    const type = input.type;
    if (typeof type !== 'string' || !(INPUT_TYPES.has(type) || /^connectedService:.+$/.test(type)))
      say(
        `input '${name}': type '${type}' is not one of ${[...INPUT_TYPES].join(', ')} or connectedService:<Type>`,
      );
    if (input.defaultValue !== undefined && !['string', 'boolean'].includes(typeof input.defaultValue))
      say(`input '${name}': defaultValue must be a string or a boolean`);
    if (input.required !== undefined && typeof input.required !== 'boolean')
      say(`input '${name}': required must be true or false`);
    if (input.groupName !== undefined && !groupNames.has(input.groupName as string))
      say(`input '${name}' is in unknown group '${input.groupName}'`);
    const props = (input.properties as Json | undefined) ?? {};
    for (const [key, value] of Object.entries(props))
      if (TRUE_FALSE_PROPERTIES.has(key) && value !== 'True' && value !== 'False')
        say(`input '${name}': properties.${key} must be the string "True" or "False"`);
    if (type === 'pickList' || type === 'radio') {
      const options = input.options as Json | undefined;
      const editable = props.EditableOptions === 'True';
      if (options && typeof input.defaultValue === 'string' && input.defaultValue !== '' && !editable)
        if (!(input.defaultValue in options))
          say(`input '${name}': defaultValue '${input.defaultValue}' is not one of its options`);
    }
  }

  // visibleRules: grammar, inputs that exist, and values the referenced input can take.
  const ruled = [
    ...inputs.map((i) => [`input '${i.name}'`, i.visibleRule] as const),
    ...groups.map((g) => [`group '${g.name}'`, g.visibleRule] as const),
  ];
  for (const [owner, rule] of ruled) {
    if (rule === undefined) continue;
    let clauses: RuleClause[];
    try {
      clauses = parseVisibleRule(String(rule));
    } catch (e) {
      say(`${owner}: visibleRule ${(e as Error).message}`);
      continue;
    }
    for (const clause of clauses) {
      const target = byName.get(clause.input);
      if (!target) {
        say(`${owner}: visibleRule names unknown input '${clause.input}'`);
        continue;
      }
      if (target.type === 'boolean' && !['true', 'false'].includes(clause.value))
        say(`${owner}: visibleRule compares boolean '${clause.input}' with '${clause.value}'`);
      const options = target.options as Json | undefined;
      if (options && ['=', '==', '!='].includes(clause.operator) && !(clause.value in options))
        say(
          `${owner}: visibleRule compares '${clause.input}' with '${clause.value}', which is not one of its options`,
        );
    }
  }

  // Output variables.
  const outputNames = new Set<string>();
  for (const output of (task.outputVariables as Json[] | undefined) ?? []) {
    for (const key of unknownKeys(output, OUTPUT_KEYS)) say(`output '${output.name}': unknown key '${key}'`);
    const name = String(output.name);
    if (!NAME.test(name))
      say(`output name '${name}' must start with a letter and hold only letters and digits`);
    if (outputNames.has(name)) say(`output '${name}' is declared twice`);
    outputNames.add(name);
  }

  // Restrictions (settableVariables / command mode).
  const restrictions = task.restrictions as Json | undefined;
  if (restrictions) {
    for (const key of unknownKeys(restrictions, new Set(['commands', 'settableVariables'])))
      say(`unknown key restrictions.${key}`);
    const mode = (restrictions.commands as Json | undefined)?.mode;
    if (mode !== undefined && mode !== 'any' && mode !== 'restricted')
      say(`restrictions.commands.mode '${mode}' is not 'any' or 'restricted'`);
    const allowed = (restrictions.settableVariables as Json | undefined)?.allowed;
    if (allowed !== undefined && !(Array.isArray(allowed) && allowed.every((a) => typeof a === 'string')))
      say('restrictions.settableVariables.allowed must be a list of variable names');
  }
  return problems;
}
