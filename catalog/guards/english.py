"""Words of English and of shop copy that the topic and publishability guards read: function words,
calls to action, offers and price claims, seller talk, chat artefacts, placeholders, field names and
ordinary words. Written by hand for English product copy; data, not logic (the product claims' word
lists are in `lexicon`).
"""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


STOPWORDS = frozenset(
    _words(
        """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each every few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so some
    such than that the their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your yours yourself
    yourselves per via yet get gets let lets it's you're they're we're don't can't won't"""
    )
)
FOREIGN_STOPWORDS = frozenset(
    _words(
        """el la los las un una y o de del en con para por que es son al lo le les des et est du au avec pour sur
    une dans qui der die das und ist mit für nicht ein eine auf zu den dem il di che per sono della delle"""
    )
)

DISPARAGING = (
    r"over-?priced", r"pricey", r"cheap-looking", r"cheaply made", r"looks? cheap", r"feels? cheap", r"flimsy",
    r"unflattering", r"mediocre", r"disappointing", r"bland", r"tasteless", r"stale", r"soggy", r"itchy",
    r"scratchy", r"ugly", r"awful", r"terrible", r"horrible", r"the worst", r"poor quality", r"low quality",
    r"nothing special", r"not great", r"not the best", r"so-so", r"\bmeh\b", r"falls apart", r"smells? (?:bad|weird|odd)",  # noqa: E501
    r"tastes? (?:bad|weird|odd|off)", r"overrated", r"gimmicky", r"clunky", r"uncomfortable", r"boring",
    r"a bit (?:expensive|much)", r"not worth", r"dirty", r"(?:still )?room (?:for|to) improve(?:ment)?",
    r"\b(?:won[’']?[ts]?|will not|wouldn[’']?t|not) be (?:happy|satisfied|pleased)\b",  # "You won’s be happy!"
)  # fmt: skip
NEGATIONS = frozenset({"not", "never", "no", "without", "won't", "isn't", "aren't", "nothing", "zero", "less"})

OFFERS = (
    r"free (?:shipping|delivery|returns|postage|gift)", r"ships? free", r"\d+(?:\.\d+)?\s?% off", r"\bdiscount\w*",
    r"\bcoupons?\b", r"promo(?:tional)? codes?", r"discount codes?", r"\bvouchers?\b", r"\bcode [A-Z0-9]{3,}",
    r"\bon sale\b", r"\bsale price\b", r"\bhalf[- ]price\b", r"\bbogo\b", r"buy one,? get one", r"\b\d for \d\b",
    r"money[- ]back", r"price match", r"cash ?back", r"gift with purchase", r"limited[- ]time offer",
    r"(?:today|this week|this weekend) only", r"lowest price", r"best price", r"save (?:up to )?(?:[$£€]|\d)",
    r"\bclearance\b", r"subscribe (?:and|&) save", r"free trial",
    # A delivery plan is a subscription the shop did not offer ("choose something new each month").
    r"\b(?:choose|get|receive|pick|delivered|shipped|new)\b[^.!?]{0,40}\b(?:each|every) (?:month|week)\b",
    r"\b(?:a|your|the) (?:daily|weekly|monthly) \d+(?:[.,]\d+)? ?(?:ml|cl|l|g|kg)\b",  # "a daily 750ml trigger bottle"
    r"\b(?:a |the )?(?:better|great|special|best) deals?\b(?!\s+(?:of|more|less|[a-z]+er)\b)",
    # A free extra ("order now for a free case", "with a free carry bag"); "BPA-free", "free of" are not.
    r"\b(?:for|with|get|gets|plus|receive|and) (?:a|an|your) free (?!of\b|from\b|up\b)[a-z]+",
    r"\b(?:get|gets|receive|plus|enjoy) free (?!of\b|from\b|up\b|and\b)[a-z]+",
    r"\b(?:order|claim|grab|get) (?:a|an|your) free\b",  # "Order your free 1L." (read in a closed-vocabulary pick)
    # Order quantities are the shop's terms ("Make sure to order at least 100 units tomorrow.").
    r"\b(?:order|buy|purchase) (?:at least|a minimum of)\b", r"\bminimum (?:order|purchase|quantity)\b",
    # Stock and delivery promises are the shop's to make, not the copy's.
    r"\bunlimited (?:supply|stock)\b", r"\bin stock\b", r"\bavailable (?:now|today|on demand)\b",
    r"\b(?:fast|quick|next[- ]day|same[- ]day|home|meal) deliver(?:y|ies)\b", r"\bdelivered to your door\b",
    r"\bpick[- ]?up (?:day|point|time|in store|shop|store|location)s?\b",
    r"\bclick (?:and|&) collect\b", r"\bcollect (?:it )?in store\b",
    r"\bavailable (?:at|in) (?:your|our|the|all|any)\b", r"\b(?:will )?arrives? (?:tomorrow|today|next)\b",
    r"\b(?:found|sold|stocked) (?:at|in) (?:any|all|most|major|leading|selected)\b", r"\bmajor retailers?\b",
    r"\b(?:holiday|christmas|seasonal|summer|winter|weekend|daily|weekly|today's|this year's) (?:special|offer|deal)s?\b",  # noqa: E501
    # Something given free, and orders the shop takes beyond its catalogue (seventh-set picks, stop 26); where
    # and when to buy it (eighth-set picks).
    r"\bcomplimentary\b", r"\bspecial orders?\b",
    r"\b(?:at|from|in) (?:the|your) (?:next|nearest|local) (?:shop|store)\b",
    r"\b(?:order|buy|get|deliver\w*|arriv\w*|ship\w*)\b[^.!?]{0,30}\btonight\b",
    r"\brewarded with\b", r"\byou(?:'ll| will) be rewarded\b",  # a reward for ordering (a ninth-set pick)
    # availability is the shop's to promise
    r"\b(?:order|buy|get) (?:it |one |yours |them )?(?:now )?(?:at )?any ?time\b",
    r"\bnext day's special\b",  # "order your next day's special today" (twelfth set)
    r"\b(?:you can |to )?pick (?:it |them |one |yours )?up (?:at|from|in)\b",  # "You can pick up at any of the best"
    # the thirteenth set's picks: "ready for you tonight", "with the Rain Jacket Packable on its way"
    r"\b(?:ready|here|with you|at your door)\b[^.!?]{0,20}\btonight\b", r"\bon (?:its|their|your) way\b",
    # the fourteenth set's: "your daily pick up today", "Here Comes a Special!", "you can order the next day"
    r"\b(?:daily|your|next|a) pick[- ]?ups?(?: (?:day|point|time|shop|store|location)s?)?\b",
    r"\bhere comes (?:a|the|our) special\b",
    r"\border (?:it |one |yours )?(?:the )?next day\b",
    r"\byour order will be (?:ready|there|with you|on its)\b", r"\bready when(?:ever)? you (?:want|need) it\b",
)  # fmt: skip
OFFER_CUES = r"free|off\b|discount|save|trial|subscription|price|deal|offer"
# Claims about the price that only the shop can make ("affordable", "lower price points").
PRICE_CLAIMS = (
    r"\baffordabl[ey]\b", r"\bcheap(?:er|est|ly)?\b", r"\bbudget[- ]friendly\b", r"\binexpensive\b",
    r"\bbargains?\b", r"\bvalue for money\b", r"\bgreat value\b", r"\b(?:low|lower) prices?\b",
    r"\bprice[- ]?points?\b", r"\bat a fraction of\b", r"\bwon'?t break the bank\b", r"\bsave money\b",
    r"\bfor less\b", r"\bbest deals?\b", r"\bpocket[- ]friendly\b", r"\bwallet[- ]friendly\b",
    r"\bafford(?:s|ed|ing)?\b", r"\bbudgets?\b",
    r"\b(?:fantastic|great|good|excellent|amazing|incredible|best|wonderful|superb|brilliant|outstanding|real) value\b",
    r"\bvalue (?:pack|size|bundle)s?\b",  # "The value pack is worth it" (fourteenth set)
    r"\bworth every (?:penny|cent)\b", r"\bmoney'?s worth\b", r"\beasy on the (?:wallet|pocket)\b",
    r"\b(?:small|low|modest|tiny|friendly|smaller|lower) price(?: tags?)?\b", r"\bprice tags?\b",
    r"\bstart saving\b", r"\b(?:big|huge|great|massive|real) savings\b",
    r"\bwithout (?:breaking|sacrificing|hurting|emptying|draining|stretching) (?:your|the) (?:wallet|bank|budget)\b",
)  # fmt: skip
# Talk about a seller instead of the product: the copy is not about what the shopper buys.
COMPANY_TALK = (
    r"\b(?:our|the|a|this|small|local|family|retail) (?:company|business|firm|mission|team|founders?|retailer)\b",
    r"\bbusinesses\b", r"\b(?:trusted|dedicated|expert|our) team\b", r"\ba team of\b",
    r"\bwe(?:'ve| have) been\b", r"\bfounded\b", r"\bestablished in\b",
    r"\b(?:your|their) business(?:es)?\b", r"\bcustomer (?:service|support|care|satisfaction)\b", r"\bour (?:customers|clients|staff|employees|store|stores|shop)\b",  # noqa: E501
    r"\bretail (?:company|store|chain|aisles?)\b", r"\bhigh-end retail\b", r"\bfamily[- ]owned\b", r"\bin business\b",
)  # fmt: skip
# A sentence that asks the shopper to act: exempt from the "says something about the product" rule.
CALL_TO_ACTION = (
    r"\b(?:shop|order|buy|grab|add (?:it |them )?to (?:your )?(?:cart|basket|bag)|get yours|pick (?:one|yours|it) up|"
    r"treat yourself|discover|find yours|try (?:it|them)|don't miss|stock up)\b"
)
# Words of calls to action and of the shop itself, fine in any product's copy.
CTA_WORDS = _words("shop order buy cart basket add grab today now yours discover explore browse checkout")
# Words of eating and drinking: on a product that is not food they describe something else.
TASTE_WORDS = (
    r"delicious", r"tast(?:y|e|es|ed|ing|ier|iest)", r"flavou?r(?:s|ful|some|ed)?", r"yumm?y", r"mouth-?watering",
    r"scrumptious", r"savou?r(?:y|s|ed|ing)?", r"juicy", r"eat(?:s|ing)?", r"edible", r"bite-?sized?", r"breakfast",
    r"lunch(?:es)?", r"dinners?", r"snack(?:s|ing)?", r"recipes?", r"calories", r"sip(?:s|ping)?", r"drink(?:s|ing)?",
    r"sugary", r"chocolat(?:e|ey)", r"cheesy", r"crunchy",
    # Eating verbs and phrases: "bite into" a beanie describes food.
    r"bit(?:e|es|ing) into", r"take a bite", r"every bite", r"bite of (?:it|this|these)", r"chew(?:y|s|ed|ing)?",
    r"munch(?:y|es|ed|ing)?", r"nibbl(?:e|es|ed|ing)", r"gulp(?:s|ed|ing)?", r"slurp(?:s|ed|ing)?", r"mouthfuls?",
    r"taste ?buds", r"appeti(?:te|sing|zing)", r"gourmet", r"foodies?", r"sweet tooth",
)  # fmt: skip

CHAT_ARTEFACTS = (
    r"\((?:laughs?|smiles?|sighs?|winks?|giggles?|chuckles?|grins?|pause)\)",
    r"\*(?:laughs?|smiles?|sighs?|winks?|giggles?|chuckles?|grins?)\*", r"\blol\b", r"\bhaha\w*", r"\blmao\b",
    r"\brofl\b", r"\bas an ai\b", r"\blanguage model\b", r"\bi (?:cannot|can't|can not)\b", r"\bi'?m sorry\b",
    r"\bi apologi[sz]e\b", r"^\s*(?:sure|certainly|of course)[,!.]", r"\bhere(?:'s| is) (?:a|an|the|your|some)\b",
    r"\bi hope this\b", r"\blet me know\b", r"\bfeel free to\b", r"\b(?:user|assistant|system)\s*:",
    r"<\|", r"```", r"\bas requested\b", r"\bproduct description\s*:", r"\bcopy\s*:",
    # The prompt's own instructions echoed back as copy.
    r"\bbe clear about\b", r"\bmake the mood\b", r"\bkeep it (?:plain|short|factual)\b", r"\bcall to action\b",
    r"\bproduct description\b", r"\bkeywords?\b", r"\btarget audience\b", r"\btone of voice\b",
    r"\bend with a (?:bold |strong |clear )?(?:promise|call|question)\b",
    r"\bat most \w+ words\b", r"\bfeatures you(?:'re| are) offering\b", r"^\s*highlight(?:ing)?\b",
    r"\blet'?s talk about\b", r"\bhere'?s what (?:it|this) means\b",
    # The model revising its own draft ("but let's make it better").
    r"\blet'?s make (?:it|this) (?:better|more|even|shorter|longer|punchier)\b",
    # A call to put off the order is no call to action ("Order now, order tomorrow.").
    r"\border (?:it |yours |them )?(?:tomorrow|later)\b",
)  # fmt: skip
PLACEHOLDERS = (
    r"\[[^\]]{1,60}\]", r"\{[^}]{0,60}\}", r"<[a-z_ ]{2,40}>", r"lorem ipsum", r"\bxxx+\b", r"\btbd\b",
    r"\binsert (?:\w+ )?(?:here|name|link|product)", r"\byour (?:email|e-mail) (?:address|provider|service)",
    # Pointers to a link or button the copy does not have ("Get started here.", read in a held-out pick).
    r"\b(?:click|tap|get started|learn more|find out more|read more|see more) here\b",
    r"\b(?:link|button) (?:below|above)\b", r"\b(?:link )?in (?:the|our) bio\b",
)  # fmt: skip
FIELD_NAMES = (
    "battery life", "battery", "weight", "material", "materials", "colour", "colours", "color", "colors", "size",
    "sizes", "price", "features", "specs", "specifications", "dimensions", "connectivity", "output", "capacity",
    "brand", "category", "product", "title", "description", "fit", "care", "ingredients", "flavour", "flavor",
)  # fmt: skip

# Ordinary English words beyond the lexicons above that product copy uses in title case or at the
# start of a sentence; together with VADER's lexicon they tell an ordinary word from a name.
COMMON_WORDS = frozenset(
    _words(
        """about add after again air all almost always amazing another anywhere arrive arrives around back bag
    bags bake baked baking basket bath beach beauty bed bedroom before best better big bit blend block body
    bold book bottle bowl box boxes breakfast bright bring brings build built busy buy cabin calm care carry
    case catch caught change charge cheerful choose city classic clean clear clip close cloud coat cold colour
    comes comfort comfortable commute compact cook cool cosy cozy crafted crisp crunchy cup cups daily day days
    deep delicious designed desk detail dinner dive does done double dress drink drop dry early easy eat
    elevate end enjoy enough errands every everyday everything evening extra family fast feel feet fill find
    fine finish first fit fits flavour fold food forget free fresh friday friend friends from full fun game
    garden gear gentle get gift give glow go goes going good grab great grip ground hand handy happy hard head
    healthy heavy help here high hike hiking holiday home honest honestly hot house ideal indoors inside
    instant joy just keep kids kind kitchen last late layer lazy learn less life light lightweight like little
    live long look looking love low lunch made make makes meet mix modern monday more morning move much music
    natural need new next night office one only open order outdoor outdoors pack packed pair part party
    perfect pick picnic play plenty pocket pop pour power premium pure quiet quick rain read ready real relax
    rest rich ride room rough run running salty save say season see set share shop simple sip sleek slim
    small smart smooth snack so soft sound space spring start stay step stock store street strong style
    summer sunday sunny super sweet switch take taste team tested thanks that the these this those time tiny
    today together tonight top travel treat trip true try turn twice ultimate under up upgrade use warm wash
    wear weekend weigh welcome well whole winter with work workout world year yes your yours
    """
    )
)

# The closed vocabulary of machine-written copy (`closed_vocabulary`): words a generated text may use
# whatever the product, because they claim nothing about it. Function words, calls to action, number
# words (the grounding guard checks figures) and VADER's positive words join them, less the sentiment
# words below, which say what a product is or does ("safe", "gentle", "powerful", "easy") or how others
# received it ("praised", "award winning", "a fan favourite", "guaranteed").
PLAIN_SHOP_WORDS = frozenset(
    _words(
        """about add after again all almost always amazing another anywhere around back before best better bit
    bring brings buy choose come comes day days daily designed does done end enjoy enough every everyday
    everything feel feels find forget friend friends from fun get gift give go goes going good grab great
    happy help here honest honestly ideal joy just keep kind learn less life like little look looking love
    made make makes meet more much need next one only order part perfect pick plenty pop ready real say see
    set share shop simple so start stay step style super take thanks that the these this those time
    today together tonight treat true try turn ultimate up use used uses using welcome well whole
    with year yes your yours want wants way ways must can will also each any own without ever mean means"""
    )
)
PROPERTY_SENTIMENT_WORDS = frozenset(
    _words(
        """safe safety secure securely protect protected protects protection healthy health clean cleaner fresh
    natural warm warmth warmer warmest strong stronger strongest strength powerful gentle gently bright
    brighter brightest comfortable comfort comforting comfortably rich richer free freedom freely cool
    efficient efficiently effective effectively delicious yummy soothing relaxing relief energy energize
    energetic tough robust solid stable supportive support supporting trusted trust approved award winning
    recommended popular favorite favourite original innovative advanced ethical fair responsible sweet easy
    easier easiest easily calm smooth soft crisp quiet fast light lightweight durable reliable praise praised
    praises acclaim acclaimed beloved enthusiast enthusiasts fan fans favorites winner winners win wins champion
    champions celebrated prized honored honoured adored guarantee guaranteed superior fitness wellness vitality
    exclusive care careful security hand hands save saves saved saving delicate"""
    )
)
# VADER's positive words that are no sentiment but a claim, each read in a held-out pick or of its kind:
# abilities and build ("smart kitchen timer", "shockproof", "intelligent"), makers and rankings ("made by
# a talented and dedicated team", "a top contender"), availability ("at any store"), changes the product
# makes ("upgrade your WiFi", "improved", "boosts"), and things that are not sentiment at all ("vitamin",
# "creatine", "champagne", "diamond", "dumpling"). The closed vocabulary leaves them to the data.
CLAIM_WORDS = frozenset(
    _words(
        """smart smarter smartest smartly smarts intelligent intelligently sophisticated optimal optimized
    optimised optimize optimizes optimizing optimise optimises optimising optimization responsive
    vibrant colorful colourful shockproof indestructible foolproof invincible invulnerable flexible flexibility
    immune vital intact pressurized comprehensive innovate innovates innovation harmless painless riskless
    fumeless stressless tensionless pressureless youthful efficiency efficiencies clarity surefooted
    talent talented talents dedicated devoted passionate passion skilled expert experts contender contend
    commend commended commends commendable honourable honorable honoured honored faille misericorde
    challenger champ champs championship championships medal prize prizewinning prizewinner prizewinners
    flagship blockbuster landmark masterpiece masterpieces award awarded endorsed endorsement certified
    upgrade upgraded upgrades improve improved improves improvement improvements boost boosts boosted
    increase increased strengthen strengthens restore restores revive revives energizing invigorating
    store stores vitamin vitamins creatine creatin creatinine champagne champagnes diamond jewel jewels
    teas teaspoon teaspoons screwdriver screwdrivers freeze freestanding freeware freeway freehand strongbox
    harmonica heron dumpling slaw profiterole profiteroles gratin gratins nasturtium freesia smartweed
    wellhead wellsite joystick joysticks lifesaver survivor weaponless sweetheart dynamite dynamo dynamos"""
    )
)
# Words that start like a swear word ("shittah", a tree VADER rates positive, in "400ml of coconut shittah"):
# no word of shop copy, whatever they mean.
PROFANE_STARTS = ("shit", "fuck", "piss", "cunt", "bitch", "crap", "damn", "twat", "wank")
# VADER's internet slang and chat acronyms ("xoxo", "leet", "lmao" in a pick's "navy - xxled - xoxo"): no
# words of shop copy, whatever their valence.
CHAT_SLANG = frozenset(
    _words(
        """aas aayf alol ambw aml aok ayc bff bffn bwahaha bwahahah foaf fwb fyi fysa gga hagd hagn hago haha
    hahaha hahas hak hhoj hhok ijs ilu iluaaf ily iou iyq jho jhomf kewl kfy kmuf laoj lawl leet lmao lmbao
    lmfao lmso lol lolz lts lulz lya lyb lyl lylab lylas lylb mmk mml muah musm mwah nbd ntmu pls plz pmbi
    pmfji pmji ptl rofl roflcopter roflmao rotfl rotflmao rotflmfao rotflol rotgl rotglmao sete sfete sgtm sok
    swak tgif thks tia tnx txs tyvm urw vbg vbs vwd vwp wilco woohoo woot wtg xlnt xoxo xoxozzz xqzt xtc yeees
    yolo yvw ywia ftw gratz"""
    )
)
# Hyphenated words any copy may use; any other compound of words must be the data's own ("phosphate-free").
PLAIN_COMPOUNDS = frozenset(_words("must-have go-to all-in-one add-on up-to-date"))  # one-of-a-kind ranks
# Words of one or two letters that English copy needs; any other ("ra re", "i m r o g y", a spelled-out
# word) is garbage or an abbreviation the data must have ("kg", "wi-fi").
SHORT_WORDS = frozenset(_words("a i am an as at be by do go he if in is it me my no of on or so to up us we"))
